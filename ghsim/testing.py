"""Helpers for test suites: run the simulator as a subprocess (or in a thread).

Example::

    from ghsim.testing import SimulatorProcess

    with SimulatorProcess(seed=1, rate_limit=100) as sim:
        requests.get(sim.api_url + "/users/avery-lin")
        sim.configure(restrict_stargazers=True)
        sim.stats()["by_kind"]
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from .util import h64

__all__ = ["SimulatorProcess", "SimulatorThread", "fault_seed", "run_in_thread"]


def fault_seed(draws: str, *, rate: float = 0.5) -> int:
    """A `faults.seed` whose first requests (those the faults apply to, in order) fail
    ("x") or pass (".") as `draws` spells, at `error_rate` = `rate`."""
    for seed in range(100_000):
        got = "".join(
            "x" if h64("fault", seed, n) / 2**64 < rate else "." for n in range(len(draws))
        )
        if got == draws:
            return seed
    raise ValueError(f"no seed below 100,000 draws {draws!r}")


class _Client:
    base_url: str

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/v3"

    @property
    def web_url(self) -> str:
        return self.base_url

    @property
    def graphql_url(self) -> str:
        return self.base_url + "/api/graphql"

    @property
    def llm_base(self) -> str:
        return self.base_url + "/v1"

    def env(self) -> dict[str, str]:
        """Environment variables pointing Gazer at this simulator."""
        return {
            "GITHUB_API_URL": self.api_url,
            "GITHUB_WEB_URL": self.web_url,
            "LLM_API_BASE": self.llm_base,
        }

    def _call(self, method: str, path: str, body: dict | None = None, timeout: float = 30.0):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method)  # noqa: S310
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - http only
            return json.loads(resp.read() or b"null")

    def configure(self, **patch) -> dict:
        """Merge ``patch`` into the simulator's config (see ``/_sim/config``)."""
        return self._call("POST", "/_sim/config", patch)

    def config(self) -> dict:
        return self._call("GET", "/_sim/config")

    def reset(self) -> dict:
        """Budgets, counters, stats and config back to the startup state."""
        return self._call("POST", "/_sim/reset", {})

    def stats(self) -> dict:
        return self._call("GET", "/_sim/stats")

    def truth(self, path: str, **params):
        """GET ``/_sim/truth/<path>``, e.g. ``truth("users/avery-lin/starred")``."""
        from urllib.parse import urlencode

        q = ("?" + urlencode(params)) if params else ""
        return self._call("GET", "/_sim/truth/" + path.lstrip("/") + q)

    def push_commit(self, full_name: str, *, login: str, paths: list[str], **extra) -> dict:
        """A new commit in ``full_name`` (``branch``, ``date`` ISO optional)."""
        body = {"login": login, "paths": paths, **extra}
        return self._call("POST", f"/_sim/repos/{full_name}/commits", body)

    def bench_repos(self, total_edges: int) -> dict:
        return self._call("GET", f"/_sim/bench-repos?total_edges={int(total_edges)}")

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                self._call("GET", "/_sim/config", timeout=1.0)
                return
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last = exc
                time.sleep(0.05)
        raise RuntimeError(f"simulator at {self.base_url} not ready: {last}")


class SimulatorProcess(_Client):
    """Run ``python -m ghsim`` on a free loopback port.

    Options map to command-line flags: ``users``, ``data_dir``, ``now``,
    ``rate_limit``, ``rate_window``, ``unauth_limit``, ``primary_status``,
    ``restrict_stargazers`` (bool).  Any other keyword is applied with
    :meth:`configure` once the server is up (e.g. ``secondary={...}``).
    """

    CLI_OPTIONS = (
        "users",
        "data_dir",
        "now",
        "rate_limit",
        "rate_window",
        "unauth_limit",
        "primary_status",
    )

    def __init__(
        self,
        seed: int = 1,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 15.0,
        **options,
    ):
        self.seed = seed
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self.options = options
        self.proc: subprocess.Popen | None = None
        self.base_url = ""
        self._stderr_file = None

    def start(self) -> SimulatorProcess:
        cmd = [
            sys.executable,
            "-m",
            "ghsim",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--seed",
            str(self.seed),
        ]
        runtime = {}
        for k, v in self.options.items():
            if k in self.CLI_OPTIONS and v is not None:
                cmd += ["--" + k.replace("_", "-"), str(v)]
            elif k == "restrict_stargazers":
                if v:
                    cmd.append("--restrict-stargazers")
            else:
                runtime[k] = v
        self._stderr_file = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        env = dict(os.environ)
        pkg_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = pkg_root + (
            os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
        )
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=self._stderr_file, env=env, text=True
        )
        line = self._read_banner()
        m = re.search(r"listening on (\S+)", line)
        if not m:
            self.stop()
            raise RuntimeError(f"ghsim did not start: {line!r}\n{self.stderr()}")
        self.base_url = m.group(1)
        self.port = int(self.base_url.rsplit(":", 1)[1])
        try:
            self.wait_ready(self.startup_timeout)
        except RuntimeError as exc:
            err = self.stderr()
            self.stop()
            raise RuntimeError(f"{exc}\n{err}") from None
        if runtime:
            self.configure(**runtime)
        return self

    def _read_banner(self) -> str:
        assert self.proc and self.proc.stdout
        result: list[str] = []

        def reader():
            result.append(self.proc.stdout.readline())

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        t.join(self.startup_timeout)
        if not result:
            return ""
        return result[0]

    def stderr(self) -> str:
        if not self._stderr_file:
            return ""
        try:
            self._stderr_file.seek(0)
            return self._stderr_file.read().decode(errors="replace")
        except (OSError, ValueError):
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None
        if self._stderr_file:
            self._stderr_file.close()
            self._stderr_file = None

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            err = self.stderr()
            if err.strip():
                sys.stderr.write("---- ghsim stderr ----\n" + err[-5000:] + "\n")
        self.stop()


class SimulatorThread(_Client):
    """Run the simulator in a background thread of the current process.

    ``.world`` and ``.state`` give direct access to the model and counters.
    """

    def __init__(
        self,
        seed: int = 1,
        host: str = "127.0.0.1",
        users: int = 12,
        data_dir: str | None = None,
        **config,
    ):
        self.seed = seed
        self.host = host
        self.users = users
        self.data_dir = data_dir
        self.config_patch = config
        self.base_url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.world = None
        self.state = None

    def start(self) -> SimulatorThread:
        import socket

        from aiohttp import web

        from .server import build_app
        from .state import State
        from .world import World

        sock = socket.socket()
        sock.bind((self.host, 0))
        sock.listen(512)
        port = sock.getsockname()[1]
        self.base_url = f"http://{self.host}:{port}"
        if self.data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="ghsim-")
            self.data_dir = self._tmp.name
        self.world = World(
            seed=self.seed, users=self.users, web_url=self.base_url, data_dir=self.data_dir
        )
        self.state = State(self.config_patch)
        app = build_app(self.world, self.state)
        ready = threading.Event()

        def run():
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.SockSite(runner, sock).start())
            self._runner = runner
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="ghsim", daemon=True)
        self._thread.start()
        ready.wait(10)
        self.wait_ready()
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None
        self._thread = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> SimulatorThread:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def run_in_thread(seed: int = 1, **kw) -> SimulatorThread:
    """Start a :class:`SimulatorThread` and return it (call ``.stop()`` when done)."""
    return SimulatorThread(seed=seed, **kw).start()
