"""`make demo`: the whole system against the GitHub simulator, no tokens, no internet.

Starts, under one honcho manager (Ctrl+C stops all):

* ``sim``: the GitHub simulator on 127.0.0.1:9100 (REST, GraphQL, git, raw files, LLM);
* every process of the repo's ``Procfile`` (web :8000 under gunicorn, a worker, the LLM
  worker, beat, Flower :5555), with the environment pointed at the simulator;
* ``demo``: waits until the web server answers ``/readyz``, runs `demo_users_login`,
  prints where to look, waits until every demo profile is ready and prints it again
  (every URL checked to answer 200), then idles; when the web server never answers or
  refuses the sign-ins (e.g. 429), it says why and exits 1, which stops the demo.

While it runs, `.env.demo` holds its environment, so `make manage ARGS="..."` (settings
read it through GAZER_ENV_FILE) acts on this demo, not on whatever the shell exports;
it is removed when the demo stops. The processes' output goes to log files (their paths
are printed) unless `-v`.

    .venv/bin/python -m workers.demo [-v]     # what `make demo` runs after `make setup`
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
# The demo's ports; DEMO_*_PORT moves them (the Procfile's are rewritten to match).
SIM_PORT = int(os.environ.get("DEMO_SIM_PORT", "9100"))
WEB_PORT = int(os.environ.get("DEMO_WEB_PORT", "8000"))
FLOWER_PORT = int(os.environ.get("DEMO_FLOWER_PORT", "5555"))
ENV_FILE = ROOT / ".env.demo"
LOG_DIR = Path(tempfile.gettempdir()) / "gazer-demo-logs"
# How long the announcer waits for every demo profile to be ready.
READY_TIMEOUT_SECONDS = 900
SIM = f"http://{HOST}:{SIM_PORT}"
WEB = f"http://{HOST}:{WEB_PORT}"
DEMO_ADMIN_KEY = "demo-admin-key"
# Tokens that are not `sim_<login>_...` are distinct server users at the simulator.
DEMO_SERVER_TOKENS = "ghsim-demo-server-1,ghsim-demo-server-2"
# Simulated accounts signed in once the web server is ready (see `demo_users_login`).
DEMO_LOGINS: list[str] = ["avery-lin", "bram-okafor", "chen-wei"]
# Profiled ahead of sign-in through the ghost path (`POST /ghost-users/<login>`).
DEMO_GHOSTS: list[str] = ["dana-kowalski"]
# The simulator's OAuth app (ghsim/state.py), public like the simulator itself.
DEMO_OAUTH_CLIENT_ID = "ghsim-oauth-app"
DEMO_OAUTH_CLIENT_SECRET = "ghsim-oauth-secret"  # noqa: S105 (the simulator's, public)


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
            # Sign in with GitHub through the simulator's registered OAuth app.
            "GITHUB_OAUTH_CLIENT_ID": DEMO_OAUTH_CLIENT_ID,
            "GITHUB_OAUTH_CLIENT_SECRET": DEMO_OAUTH_CLIENT_SECRET,
            "GITHUB_OAUTH_WEB_URL": SIM,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("GITHUB_TOKEN", None)
    env.pop("OPENROUTER_API_KEY", None)
    env.setdefault("ADMIN_API_KEY", DEMO_ADMIN_KEY)
    return env


# What `.env.demo` carries: enough for a management command to reach this demo.
ENV_FILE_KEYS = (
    "DATABASE_URL",
    "REDIS_URL",
    "GITHUB_API_URL",
    "GITHUB_WEB_URL",
    "GITHUB_TOKENS",
    "GITHUB_OAUTH_CLIENT_ID",
    "GITHUB_OAUTH_CLIENT_SECRET",
    "GITHUB_OAUTH_WEB_URL",
    "LLM_API_BASE",
    "LLM_API_KEY",
    "LLM_MODEL",
    "MEDIA_FETCH_ALLOW_PRIVATE",
    "ADMIN_API_KEY",
    "API_KEY",
)
DEFAULTS = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/gazer",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def env_file_text(env: dict[str, str]) -> str:
    """`.env.demo`: the running demo's environment, for `make manage`."""
    lines = [
        "# Written by `make demo` while it runs, removed when it stops: the demo's",
        '# environment, which `make manage ARGS="..."` reads (GAZER_ENV_FILE=.env.demo).',
    ]
    for key in ENV_FILE_KEYS:
        value = env.get(key) or DEFAULTS.get(key)
        if value:
            lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n"


def read_procfile(path: Path = ROOT / "Procfile") -> list[tuple[str, str]]:
    processes = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        name, _, command = line.partition(":")
        processes.append((name.strip(), command.strip()))
    return processes


def process_spec(*, verbose: bool = True) -> list[tuple[str, str]]:
    """The Procfile-like spec of the demo: simulator, the Procfile's processes, announcer.

    Not verbose, every process but the announcer writes to `LOG_DIR/<name>.log`.
    """
    python = shlex.quote(sys.executable)
    data_dir = shlex.quote(str(Path(tempfile.gettempdir()) / "gazer-demo-ghsim"))
    sim = f"{python} -m ghsim --host {HOST} --port {SIM_PORT} --seed 1 --data-dir {data_dir}"
    processes = [
        (name, command.replace(f"{HOST}:8000", f"{HOST}:{WEB_PORT}"))
        for name, command in read_procfile()
    ]
    processes = [
        (name, command.replace("--port=5555", f"--port={FLOWER_PORT}"))
        for name, command in processes
    ]
    spec = [("sim", sim), *processes]
    if not verbose:
        spec = [
            (name, f"exec {command} >> {shlex.quote(str(LOG_DIR / f'{name}.log'))} 2>&1")
            for name, command in spec
        ]
    return [*spec, ("demo", f"{python} -m workers.demo announce")]


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def _admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {os.environ.get('ADMIN_API_KEY', DEMO_ADMIN_KEY)}"}


def _get(url: str, timeout: float = 3.0) -> int:
    headers = _admin_headers() if "/admin-api/" in url else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 - loopback
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


class SignInRefused(Exception):
    """The web server refused to sign in (or profile) the demo users."""


def _post(url: str, body: bytes, headers: dict[str, str]) -> str:
    """POST to the demo's web server: "" when accepted, else why not (status, message)."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30):  # noqa: S310 - loopback
            return ""
    except urllib.error.HTTPError as exc:
        try:
            error = json.loads(exc.read() or b"{}").get("error") or {}
            message = error.get("message") or exc.reason
        except (ValueError, AttributeError):
            message = exc.reason
        return f"HTTP {exc.code} {message}"
    except (urllib.error.URLError, OSError) as exc:
        return str(exc)


def demo_users_login() -> list[str]:
    """Hook: sign in a few simulated users once the web server answers /readyz.

    Runs inside the ``demo`` process with the demo environment, through the public API
    (``POST /users/<login>/login``), each with its own simulator token
    (``sim_<login>_demo``), so its GitHub work is done with "its" token as in
    production. Returns the logins that were accepted; raises `SignInRefused` naming
    every refusal (e.g. the per-client rate's 429) when any was refused.
    """
    done: list[str] = []
    refused: list[str] = []
    headers = {"Content-Type": "application/json"}
    if os.environ.get("API_KEY"):
        headers["Authorization"] = f"Bearer {os.environ['API_KEY']}"
    for login in DEMO_LOGINS:
        body = json.dumps({"github_token": f"sim_{login}_demo"}).encode()
        if why := _post(f"{WEB}/users/{login}/login", body, headers):
            refused.append(f"login of {login}: {why}")
        else:
            done.append(login)
    for login in DEMO_GHOSTS:
        if why := _post(f"{WEB}/ghost-users/{login}?force=true", b"", headers):
            refused.append(f"ghost {login}: {why}")
        else:
            done.append(login)
    if refused:
        raise SignInRefused("; ".join(refused))
    return done


def links() -> list[tuple[str, str, str]]:
    """(label, URL, note) of the demo as a whole, in the order the banner prints them."""
    admin_key = os.environ.get("ADMIN_API_KEY", DEMO_ADMIN_KEY)
    return [
        ("web and landing page", f"{WEB}/", ""),
        ("sign in with GitHub", f"{WEB}/signin", "simulated: pick a user on the consent page"),
        ("operations page", f"{WEB}/ops", "staff login: make manage ARGS=createsuperuser"),
        ("API docs (Swagger)", f"{WEB}/api/docs/", ""),
        ("health", f"{WEB}/health", ""),
        ("admin API", f"{WEB}/admin-api/stats", f"Authorization: Bearer {admin_key}"),
        ("Flower (Celery)", f"http://{HOST}:{FLOWER_PORT}/", ""),
        ("simulator stats", f"{SIM}/_sim/stats", ""),
        ("simulated users", f"{SIM}/_sim/truth/users", "avery-lin, bram-okafor, chen-wei…"),
    ]


def profile_links(login: str) -> list[tuple[str, str]]:
    """(label, URL) of one demo profile: its pages and its API reads."""
    return [
        ("profile page", f"{WEB}/u/{login}"),
        ("For You page", f"{WEB}/u/{login}/for-you"),
        ("progress (API)", f"{WEB}/users/{login}/progress"),
        ("data (API)", f"{WEB}/users/{login}/data"),
    ]


def _checked(url: str, check: bool) -> str:
    if not check:
        return url
    status = _get(url, timeout=10)
    return url if status == 200 else f"{url}  (answered {status or 'nothing'})"


def banner(logins: list[str], *, states: dict[str, str] | None = None, check: bool = False) -> str:
    """Where to look. With `states`, the second banner: every profile's outcome. With
    `check`, every URL is fetched first and one that does not answer 200 says so."""
    lines = ["", "=" * 72]
    if states is None:
        lines.append("Gazer demo is up. GitHub and the LLM are simulated: no tokens, no internet.")
    else:
        ready = sum(1 for state in states.values() if state == "ready")
        lines.append(f"Gazer demo: {ready} of {len(states)} demo profiles ready.")
    for label, url, note in links():
        lines.append(f"  {label:<22} {_checked(url, check)}" + (f"  ({note})" if note else ""))
    for login in logins:
        ghost = " (ghost)" if login in DEMO_GHOSTS else ""
        state = f" [{states.get(login, 'unknown')}]" if states is not None else ""
        lines.append(f"  {login + ghost + state}")
        for label, url in profile_links(login):
            lines.append(f"    {label:<20} {_checked(url, check)}")
    if states is None and logins:
        lines.append(f"  signed in              {', '.join(logins)} (profiles build now)")
    lines += [
        f"  logs                   {LOG_DIR}/<process>.log (make demo ARGS=-v prints them here)",
        '  commands               make manage ARGS="progress avery-lin" acts on this demo',
        "Ctrl+C stops everything.",
        "=" * 72,
        "",
    ]
    return "\n".join(lines)


def profiles_wait(logins: list[str], *, timeout: float = READY_TIMEOUT_SECONDS) -> dict[str, str]:
    """Each profile's state once all are ready or failed (or the time is up)."""
    states = dict.fromkeys(logins, "queued")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for login in logins:
            if states[login] in {"ready", "failed"}:
                continue
            try:
                url = f"{WEB}/users/{login}/progress"
                with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - loopback
                    state = json.load(resp).get("state") or "queued"
            except (urllib.error.URLError, OSError, ValueError):
                continue
            if state != states[login] and state in {"ready", "failed"}:
                done = sum(1 for s in states.values() if s in {"ready", "failed"}) + 1
                print(f"demo: {login} {state} ({done}/{len(logins)})", flush=True)
            states[login] = state
        if all(state in {"ready", "failed"} for state in states.values()):
            break
        time.sleep(2.0)
    return states


def announce() -> int:
    """Sign the demo users in and say where to look; then stay up (honcho stops every
    process as soon as one of them exits). A demo that cannot come up or sign its users
    in exits 1 with the reason, and so stops `make demo` with it."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if not wait_for(f"{WEB}/readyz", timeout=180):
        print(f"demo: {WEB}/readyz did not answer 200 within 180 s; see {LOG_DIR}", flush=True)
        return 1
    try:
        logins = demo_users_login()
    except SignInRefused as exc:
        print(
            f"demo: could not sign in the demo users ({exc}). If this is the per-client "
            "rate (HTTP 429), wait for it or raise THROTTLE_RATE_PIPELINE; stopping.",
            flush=True,
        )
        return 1
    print(banner(logins), flush=True)
    states = profiles_wait(logins)
    print(banner(logins, states=states, check=True), flush=True)
    while True:
        signal.pause()


def _dotenv_load() -> None:
    """`.env` under the shell's variables, as config/settings.py reads it."""
    path = ROOT / ".env"
    if path.exists():
        import environ

        environ.Env.read_env(path, overwrite=False)


def run(*, verbose: bool = False) -> int:
    busy = [p for p in (SIM_PORT, WEB_PORT, FLOWER_PORT) if _port_in_use(p)]
    if busy:
        print(
            f"demo: port(s) {', '.join(map(str, busy))} already in use on {HOST}; stop that first"
        )
        return 1
    _dotenv_load()
    env = demo_env()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    if not verbose:
        for path in LOG_DIR.glob("*.log"):
            path.unlink()
        print(f"demo: process logs in {LOG_DIR}/ (-v prints them here)", flush=True)
    ENV_FILE.write_text(env_file_text(env))
    manager = Manager()
    for name, command in process_spec(verbose=verbose):
        manager.add_process(name, command, env=env, cwd=str(ROOT))
    try:
        manager.loop()
    finally:
        ENV_FILE.unlink(missing_ok=True)
    return manager.returncode or 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["announce"]:
        return announce()
    return run(verbose=any(arg in {"-v", "--verbose"} for arg in argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
