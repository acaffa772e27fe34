"""`make demo`: the whole system against the GitHub simulator, no tokens, no internet.

Starts, under one honcho manager (Ctrl+C stops all):

* ``sim``: the GitHub simulator on 127.0.0.1:9100 (REST, GraphQL, git, raw files, LLM);
* every process of the repo's ``Procfile`` (web :8000 under gunicorn, a worker, the LLM
  worker, beat, Flower :5555), with the environment pointed at the simulator;
* ``demo``: waits until the web server answers ``/readyz``, runs `demo_users_login`,
  prints where to look, then idles.

    .venv/bin/python -m workers.demo          # what `make demo` runs after `make setup`
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from honcho.manager import Manager

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
SIM_PORT = 9100
WEB_PORT = 8000
FLOWER_PORT = 5555
SIM = f"http://{HOST}:{SIM_PORT}"
WEB = f"http://{HOST}:{WEB_PORT}"
DEMO_ADMIN_KEY = "demo-admin-key"
# Tokens that are not `sim_<login>_...` are distinct server users at the simulator.
DEMO_SERVER_TOKENS = "ghsim-demo-server-1,ghsim-demo-server-2"
# Simulated accounts signed in once the web server is ready (see `demo_users_login`).
DEMO_LOGINS: list[str] = ["avery-lin", "bram-okafor", "chen-wei"]
# Profiled ahead of sign-in through the ghost path (`POST /ghost-users/<login>`).
DEMO_GHOSTS: list[str] = ["dana-kowalski"]


def demo_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every demo process: GitHub and the LLM are the simulator."""
    env = dict(os.environ if base is None else base)
    env.update(
        {
            "GITHUB_API_URL": f"{SIM}/api/v3",
            "GITHUB_WEB_URL": SIM,
            "LLM_API_BASE": f"{SIM}/v1",
            "LLM_API_KEY": "demo-key-for-the-simulator",
            "MEDIA_FETCH_ALLOW_PRIVATE": "true",
            "GITHUB_TOKENS": DEMO_SERVER_TOKENS,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("GITHUB_TOKEN", None)
    env.pop("OPENROUTER_API_KEY", None)
    env.setdefault("ADMIN_API_KEY", DEMO_ADMIN_KEY)
    return env


def read_procfile(path: Path = ROOT / "Procfile") -> list[tuple[str, str]]:
    processes = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        name, _, command = line.partition(":")
        processes.append((name.strip(), command.strip()))
    return processes


def process_spec() -> list[tuple[str, str]]:
    """The Procfile-like spec of the demo: simulator, the Procfile's processes, announcer."""
    python = shlex.quote(sys.executable)
    data_dir = shlex.quote(str(Path(tempfile.gettempdir()) / "gazer-demo-ghsim"))
    sim = f"{python} -m ghsim --host {HOST} --port {SIM_PORT} --seed 1 --data-dir {data_dir}"
    return [("sim", sim), *read_procfile(), ("demo", f"{python} -m workers.demo announce")]


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def _get(url: str, timeout: float = 3.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


def wait_for(url: str, *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _get(url) == 200:
            return True
        time.sleep(1.0)
    return False


def demo_users_login() -> list[str]:
    """Hook: sign in a few simulated users once the web server answers /readyz.

    Runs inside the ``demo`` process with the demo environment, through the public API
    (``POST /users/<login>/login``), each with its own simulator token
    (``sim_<login>_demo``), so its GitHub work is done with "its" token as in
    production. Returns the logins that were accepted.
    """
    done = []
    headers = {"Content-Type": "application/json"}
    if os.environ.get("API_KEY"):
        headers["Authorization"] = f"Bearer {os.environ['API_KEY']}"
    for login in DEMO_LOGINS:
        body = json.dumps({"github_token": f"sim_{login}_demo"}).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{WEB}/users/{login}/login", data=body, method="POST", headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=30):  # noqa: S310 - loopback
                done.append(login)
        except (urllib.error.URLError, OSError) as exc:
            print(f"demo: login of {login} failed: {exc}", flush=True)
    for login in DEMO_GHOSTS:
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{WEB}/ghost-users/{login}?force=true", data=b"", method="POST", headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=30):  # noqa: S310 - loopback
                done.append(login)
        except (urllib.error.URLError, OSError) as exc:
            print(f"demo: ghost {login} failed: {exc}", flush=True)
    return done


def banner(logins: list[str]) -> str:
    admin_key = os.environ.get("ADMIN_API_KEY", DEMO_ADMIN_KEY)
    lines = [
        "",
        "=" * 72,
        "Gazer demo is up. GitHub and the LLM are simulated: no tokens, no internet.",
        f"  web and landing page   {WEB}/",
        f"  API docs (Swagger)     {WEB}/api/docs/",
        f"  a user's progress      {WEB}/users/avery-lin/progress",
        f"  health                 {WEB}/health",
        f"  admin API              {WEB}/admin-api/  (Authorization: Bearer {admin_key})",
        f"  Flower (Celery)        http://{HOST}:{FLOWER_PORT}/",
        f"  simulator stats        {SIM}/_sim/stats",
        f"  simulated users        {SIM}/_sim/truth/users (avery-lin, bram-okafor, chen-wei…)",
    ]
    if logins:
        lines.append(
            f"  signed in              {', '.join(logins)} (profiles build in the background)"
        )
        lines.append(f"  e.g.                   {WEB}/users/{logins[0]}/data")
        for login in logins:
            ghost = " (ghost)" if login in DEMO_GHOSTS else ""
            lines.append(f"  {login + ghost:<22} {WEB}/users/{login}/progress   …/data")
    lines += ["Ctrl+C stops everything.", "=" * 72, ""]
    return "\n".join(lines)


def announce() -> int:
    if not wait_for(f"{WEB}/readyz", timeout=180):
        print(f"demo: {WEB}/readyz did not answer 200 within 180 s; see the logs above")
    else:
        print(banner(demo_users_login()), flush=True)
    # Stay up: honcho stops every process as soon as one of them exits.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


def run() -> int:
    busy = [p for p in (SIM_PORT, WEB_PORT, FLOWER_PORT) if _port_in_use(p)]
    if busy:
        print(
            f"demo: port(s) {', '.join(map(str, busy))} already in use on {HOST}; stop that first"
        )
        return 1
    env = demo_env()
    manager = Manager()
    for name, command in process_spec():
        manager.add_process(name, command, env=env, cwd=str(ROOT))
    manager.loop()
    return manager.returncode or 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["announce"]:
        return announce()
    return run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
