"""PostgreSQL and Redis where DATABASE_URL and REDIS_URL point, started when none answers.

    python3 scripts/services.py up            # start what does not answer; leave it running
    python3 scripts/services.py run -- CMD    # up, run CMD, then stop what up started
    python3 scripts/services.py down          # stop what this checkout started (services-stop)
    python3 scripts/services.py status

A service that answers is used as it is and never stopped. One that does not answer at a
local address (127.0.0.1, localhost, ::1) is started here, on the configured port: a
private PostgreSQL cluster (`initdb` + `pg_ctl` of the installed PostgreSQL, trust auth
for the URL's user) and a `redis-server` without persistence, both under `.services/`
of the checkout (GAZER_SERVICES_DIR moves it). A remote address is never started: it
fails with a clear error. Missing binaries are installed with apt-get when root on
Debian; otherwise the command to run is printed. `run` stops what it started when CMD
ends (Ctrl+C included) unless KEEP_SERVICES=1; `down` stops only services whose pidfile
or data folder is in the services folder, so no other Postgres or Redis is touched.

The URLs are read as the settings read them: the shell, then GAZER_ENV_FILE's values over
it, then `.env` under it unless GAZER_DOTENV=false (what the test settings do). Standard
library only: it runs before the virtualenv exists.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/gazer"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# PostgreSQL's SSLRequest code: every server answers it with one byte, S or N.
PG_SSL_REQUEST = struct.pack("!ii", 8, 80877103)
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
PG_USER = "postgres"  # the unprivileged system user that runs PostgreSQL for root
PROBE_TIMEOUT_SECONDS = 3.0
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 30
DEBIAN_PACKAGES = {"PostgreSQL": "postgresql", "Redis": "redis-server"}
# Set for the command `run` runs: an `up` inside it (make setup's) says nothing of what
# answers, since `run` has just said it.
RUN_MARKER = "GAZER_SERVICES_RUN"


class ServiceError(Exception):
    """A service that cannot be used or started; the message says what to do."""


@dataclass(frozen=True)
class Service:
    kind: str  # "PostgreSQL" or "Redis"
    setting: str  # the environment name it comes from
    host: str
    port: int
    user: str = ""
    password: str = ""

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def local(self) -> bool:
        return self.host in LOCAL_HOSTS


def database_service(url: str) -> Service | None:
    """The PostgreSQL DATABASE_URL names; None for a Unix socket (nothing to start)."""
    parts = urlsplit(url)
    query_host = re.search(r"(?:^|&)host=([^&]*)", parts.query)
    if not parts.hostname or (query_host and unquote(query_host.group(1)).startswith("/")):
        return None
    return Service(
        kind="PostgreSQL",
        setting="DATABASE_URL",
        host=unquote(parts.hostname),
        port=parts.port or 5432,
        user=unquote(parts.username or "") or "postgres",
        password=unquote(parts.password or ""),
    )


def redis_service(url: str) -> Service | None:
    """The Redis REDIS_URL names; None for a Unix socket (nothing to start)."""
    parts = urlsplit(url)
    if parts.scheme == "unix" or not parts.hostname:
        return None
    return Service(
        kind="Redis",
        setting="REDIS_URL",
        host=unquote(parts.hostname),
        port=parts.port or 6379,
        password=unquote(parts.password or ""),
    )


def _env_values(path: Path) -> dict[str, str]:
    # config/envfile.py parses `.env` without Django; loaded by path so that the `config`
    # package (which imports Celery) is not imported before the virtualenv exists.
    spec = importlib.util.spec_from_file_location("gazer_envfile", ROOT / "config" / "envfile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.env_values(path.read_text())


def configured(environ: dict[str, str] | None = None) -> dict[str, str]:
    """DATABASE_URL and REDIS_URL as the settings see them (shell, GAZER_ENV_FILE, .env)."""
    env = dict(os.environ if environ is None else environ)
    names = ("DATABASE_URL", "REDIS_URL")
    values = {name: env[name] for name in names if env.get(name)}
    env_file = env.get("GAZER_ENV_FILE", "")
    if env_file:
        path = Path(env_file) if Path(env_file).is_absolute() else ROOT / env_file
        if path.exists():
            values.update({k: v for k, v in _env_values(path).items() if k in names and v})
    dotenv = env.get("GAZER_DOTENV", "true").lower() not in ("0", "false", "no", "off")
    if dotenv and (ROOT / ".env").exists():
        for name, value in _env_values(ROOT / ".env").items():
            if name in names and value:
                values.setdefault(name, value)
    values.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    values.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    return values


def services_dir() -> Path:
    return Path(os.environ.get("GAZER_SERVICES_DIR") or ROOT / ".services").resolve()


def say(message: str) -> None:
    print(f"services: {message}", flush=True)


# --- Is it there? -----------------------------------------------------------------------


def probe(service: Service) -> str:
    """One of `answers`, `silent: <why>` (nothing listens) or `other: <what>` (it speaks
    something else)."""
    try:
        sock = socket.create_connection((service.host, service.port), timeout=PROBE_TIMEOUT_SECONDS)
    except OSError as exc:
        return f"silent: {exc.strerror or exc}"
    with sock:
        try:
            if service.kind == "PostgreSQL":
                sock.sendall(PG_SSL_REQUEST)
                reply = sock.recv(1)
                speaks = reply in (b"S", b"N")
            else:
                sock.sendall(b"PING\r\n")
                reply = sock.recv(64)
                # +PONG, or an error such as -NOAUTH: a Redis either way.
                speaks = reply[:1] in (b"+", b"-")
        except OSError as exc:
            return f"other: {exc.strerror or exc}"
    return "answers" if speaks else f"other: answered {reply[:16]!r}"


def _wait_until(service: Service, state: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe(service).startswith(state):
            return True
        time.sleep(0.2)
    return False


# --- Binaries -----------------------------------------------------------------------------


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path))


def pg_bindir(data: Path | None = None) -> Path | None:
    """The installed PostgreSQL's bin folder: the one that made `data` when it exists,
    else the newest."""
    if data is not None and (data / "PG_VERSION").exists():
        version = (data / "PG_VERSION").read_text().strip()
        matching = Path(PG_BIN_GLOB.replace("*", version))
        if (matching / "pg_ctl").exists():
            return matching
    found = sorted(glob.glob(f"{PG_BIN_GLOB}/initdb"), key=_version_key)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _missing(services: list[Service]) -> list[str]:
    missing = []
    for service in services:
        if service.kind == "PostgreSQL" and pg_bindir() is None:
            missing.append(DEBIAN_PACKAGES["PostgreSQL"])
        if service.kind == "Redis" and shutil.which("redis-server") is None:
            missing.append(DEBIAN_PACKAGES["Redis"])
    return missing


def ensure_installed(services: list[Service]) -> None:
    """Install what starting `services` needs: apt-get as root on Debian, else say how."""
    missing = _missing(services)
    if not missing:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say(f"installing {' '.join(missing)} (Debian packages)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        if not _missing(services):
            return
    raise ServiceError(
        f"{' and '.join(missing)} not installed, and nothing answers where "
        + " and ".join(f"{s.setting} points ({s.address})" for s in services)
        + f"; install with:\n    sudo apt-get install -y {' '.join(missing)}\n"
        "then run the same make command again"
    )


# --- PostgreSQL -------------------------------------------------------------------------


def _as_owner(args: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *args] if owner else args


def _pg_owner(root: Path) -> str | None:
    """Who runs PostgreSQL: the current user, or for root (whom initdb and postgres
    refuse) the unprivileged `postgres` system user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        raise ServiceError(
            f"running as root, and PostgreSQL refuses root: create the system user "
            f"{PG_USER!r} (the Debian package does) or run as another user"
        ) from None
    return PG_USER


def _pg_paths(base: Path) -> tuple[Path, Path, Path]:
    root = base / "postgres"
    return root, root / "data", root / "postgres.log"


def _listen_addresses(host: str) -> str:
    return "localhost" if host == "localhost" else host


def _already_running(kind: str, folder: Path) -> ServiceError:
    return ServiceError(
        f"the {kind} started from {folder} runs, but not where the URL points (another "
        "port or address): make services-stop stops it"
    )


def pg_start(service: Service, base: Path) -> None:
    root, data, log = _pg_paths(base)
    if pg_running(base):
        raise _already_running(service.kind, root)
    owner = _pg_owner(root)
    base.mkdir(parents=True, exist_ok=True)
    root.mkdir(exist_ok=True)
    if owner:
        record = pwd.getpwnam(owner)
        os.chown(root, record.pw_uid, record.pw_gid)
        root.chmod(0o700)
        reach = subprocess.run(_as_owner(["test", "-w", str(root)], owner), check=False)
        if reach.returncode != 0:
            raise ServiceError(
                f"the {owner!r} user that runs PostgreSQL cannot write {root}: let it "
                "reach the checkout (o+x on its parent folders) or set GAZER_SERVICES_DIR"
            )
    bindir = pg_bindir(data)
    if not (data / "PG_VERSION").exists():
        say(f"creating a PostgreSQL cluster in {data}")
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", service.user, "--auth=trust"]
        # UTF-8 with code-point order, as Debian's clusters have it; plain C where the
        # machine has no C.UTF-8 locale.
        for locale in (["--locale=C.UTF-8"], ["--no-locale"]):
            result = subprocess.run(
                _as_owner([*initdb, "--encoding=UTF8", *locale], owner),
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode == 0:
                break
        else:
            raise ServiceError(f"initdb failed:\n{result.stdout}{result.stderr}")
        superuser_file(base).write_text(service.user + "\n")
    options = " ".join(
        [
            f"-p {service.port}",
            f"-c listen_addresses={shlex.quote(_listen_addresses(service.host))}",
            # TCP only: the machine's socket folder belongs to its own PostgreSQL.
            "-c unix_socket_directories=''",
        ]
    )
    result = subprocess.run(
        _as_owner(
            [
                str(bindir / "pg_ctl"),
                "start",
                "-D",
                str(data),
                "-l",
                str(log),
                "-w",
                "-t",
                str(START_TIMEOUT_SECONDS),
                "-o",
                options,
            ],
            owner,
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        if result.returncode != 0 or not _wait_until(service, "answers", START_TIMEOUT_SECONDS):
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise ServiceError(
                f"PostgreSQL did not start on {service.address}:\n"
                f"{result.stdout}{result.stderr}{tail}"
            )
        pg_role_ensure(service, base)
    except BaseException:
        pg_stop(base)
        raise


def superuser_file(base: Path) -> Path:
    """Where the name of the cluster's first superuser (the URL's user at initdb) is kept."""
    return base / "postgres-superuser"


# Run through psql when DATABASE_URL names a user the cluster does not know yet.
CREATE_ROLE_SQL = """\\set ON_ERROR_STOP 1
SELECT format('CREATE ROLE %I SUPERUSER LOGIN', :'name')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'name') \\gexec
"""


def pg_role_ensure(service: Service, base: Path) -> None:
    """Trust auth for the URL's user on a cluster made for another: a superuser role."""
    path = superuser_file(base)
    first = path.read_text().strip() if path.exists() else service.user
    if first == service.user:
        return
    bindir = pg_bindir(_pg_paths(base)[1])
    result = subprocess.run(
        [
            str(bindir / "psql"),
            "-h",
            service.host,
            "-p",
            str(service.port),
            "-U",
            first,
            "-d",
            "postgres",
            "-q",
            "-v",
            f"name={service.user}",
        ],
        input=CREATE_ROLE_SQL,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ServiceError(f"cannot create the role {service.user}:\n{result.stderr}")


def pg_running(base: Path) -> bool:
    _root, data, _log = _pg_paths(base)
    return (data / "postmaster.pid").exists()


def pg_stop(base: Path) -> bool:
    """Stop the cluster in `base` if it runs; whether one was stopped."""
    _root, data, _log = _pg_paths(base)
    if not (data / "postmaster.pid").exists():
        return False
    owner = None
    if os.geteuid() == 0 and data.stat().st_uid != 0:
        owner = pwd.getpwuid(data.stat().st_uid).pw_name
    bindir = pg_bindir(data)
    if bindir is None:
        raise ServiceError(f"no pg_ctl to stop the cluster in {data}")
    result = subprocess.run(
        _as_owner(
            [
                str(bindir / "pg_ctl"),
                "stop",
                "-D",
                str(data),
                "-m",
                "fast",
                "-w",
                "-t",
                str(STOP_TIMEOUT_SECONDS),
            ],
            owner,
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 and (data / "postmaster.pid").exists():
        raise ServiceError(f"pg_ctl stop failed:\n{result.stdout}{result.stderr}")
    return True


# --- Redis --------------------------------------------------------------------------------


def _redis_paths(base: Path) -> tuple[Path, Path, Path]:
    root = base / "redis"
    return root, root / "redis.pid", root / "redis.log"


def _bind(host: str) -> list[str]:
    # "-::1": bound when the machine has IPv6 loopback, skipped otherwise.
    return ["127.0.0.1", "-::1"] if host == "localhost" else [host]


def redis_start(service: Service, base: Path) -> None:
    root, pidfile, log = _redis_paths(base)
    if redis_running(base):
        raise _already_running(service.kind, root)
    root.mkdir(parents=True, exist_ok=True)
    pidfile.unlink(missing_ok=True)
    args = [
        "redis-server",
        "--port",
        str(service.port),
        "--bind",
        *_bind(service.host),
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "yes",
        "--pidfile",
        str(pidfile),
        "--logfile",
        str(log),
        "--dir",
        str(root),
    ]
    if service.password:
        args += ["--requirepass", service.password]
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    answers = result.returncode == 0 and _wait_until(service, "answers", START_TIMEOUT_SECONDS)
    deadline = time.monotonic() + 5
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    if not answers:
        redis_stop(base)
        tail = log.read_text()[-2000:] if log.exists() else ""
        raise ServiceError(
            f"Redis did not start on {service.address}:\n{result.stdout}{result.stderr}{tail}"
        )


def _redis_pid(base: Path) -> int | None:
    """The pid in this folder's pidfile, if that process is still a redis-server."""
    _root, pidfile, _log = _redis_paths(base)
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"redis-server" in cmdline else None


def redis_running(base: Path) -> bool:
    return _redis_pid(base) is not None


def redis_stop(base: Path) -> bool:
    """Stop the redis-server this folder's pidfile names; whether one was stopped."""
    _root, pidfile, _log = _redis_paths(base)
    pid = _redis_pid(base)
    if pid is None:
        pidfile.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    if Path(f"/proc/{pid}").exists():
        raise ServiceError(f"redis-server {pid} did not stop within {STOP_TIMEOUT_SECONDS} s")
    pidfile.unlink(missing_ok=True)
    return True


STARTERS = {"PostgreSQL": pg_start, "Redis": redis_start}
STOPPERS = {"PostgreSQL": pg_stop, "Redis": redis_stop}


# --- Commands ---------------------------------------------------------------------------


def wanted(environ: dict[str, str] | None = None) -> list[Service]:
    urls = configured(environ)
    found = [database_service(urls["DATABASE_URL"]), redis_service(urls["REDIS_URL"])]
    return [service for service in found if service is not None]


def up(base: Path | None = None) -> list[Service]:
    """Start every configured service that does not answer; the ones started here."""
    base = base or services_dir()
    to_start = []
    for service in wanted():
        state = probe(service)
        if state == "answers":
            if not os.environ.get(RUN_MARKER):
                say(f"{service.kind} answers at {service.address} ({service.setting}): used")
            continue
        if state.startswith("other"):
            raise ServiceError(
                f"{service.address} ({service.setting}) is in use, but not by {service.kind} "
                f"({state.split(': ', 1)[1]}): point {service.setting} elsewhere or free the port"
            )
        if not service.local:
            reason = state.split(": ", 1)[1]
            raise ServiceError(
                f"cannot reach {service.kind} at {service.address}: {reason} ({service.setting} "
                f"names a remote host; only 127.0.0.1, localhost or ::1 get one started here)"
            )
        to_start.append(service)
    if not to_start:
        return []
    ensure_installed(to_start)
    started: list[Service] = []
    try:
        for service in to_start:
            STARTERS[service.kind](service, base)  # stops what it launched if it fails
            started.append(service)
            say(f"started {service.kind} on {service.address} ({_where(service, base)})")
    except BaseException:
        stop(started, base)
        raise
    return started


def _where(service: Service, base: Path) -> str:
    folder = base / ("postgres" if service.kind == "PostgreSQL" else "redis")
    with contextlib.suppress(ValueError):
        folder = folder.relative_to(Path.cwd())
    return f"data in {folder}" if service.kind == "PostgreSQL" else f"pidfile and log in {folder}"


def stop(services: list[Service], base: Path) -> None:
    for service in reversed(services):
        if STOPPERS[service.kind](base):
            say(f"stopped {service.kind} on {service.address}")


def down(base: Path | None = None) -> int:
    """Stop whatever this services folder started (`make services-stop`)."""
    base = base or services_dir()
    stopped = [kind for kind, stopper in STOPPERS.items() if stopper(base)]
    if stopped:
        say(f"stopped {' and '.join(stopped)} started from {base}")
    else:
        say(f"nothing started from {base} is running")
    return 0


def status(base: Path | None = None) -> int:
    base = base or services_dir()
    for service in wanted():
        ours = (pg_running if service.kind == "PostgreSQL" else redis_running)(base)
        state = probe(service).split(":", 1)[0]
        mine = " (started from this checkout)" if ours and state == "answers" else ""
        say(f"{service.kind} at {service.address} ({service.setting}): {state}{mine}")
    return 0


def _keep() -> bool:
    return os.environ.get("KEEP_SERVICES", "").lower() in ("1", "true", "yes", "on")


def run(command: list[str], base: Path | None = None) -> int:
    """`up`, then `command`; what `up` started is stopped when it ends, unless KEEP_SERVICES.

    Like a shell running a foreground command, SIGINT and SIGQUIT are left to the command
    (Ctrl+C reaches the whole process group); SIGTERM and SIGHUP are passed on to it.
    """
    base = base or services_dir()
    started = up(base)
    child: subprocess.Popen | None = None

    def forward(signum, _frame):
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    def wait_for_it(_signum, _frame):
        # A handler, not SIG_IGN: the command starts with the default disposition.
        return None

    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, wait_for_it),
        signal.SIGQUIT: signal.signal(signal.SIGQUIT, wait_for_it),
        signal.SIGTERM: signal.signal(signal.SIGTERM, forward),
        signal.SIGHUP: signal.signal(signal.SIGHUP, forward),
    }
    try:
        child = subprocess.Popen(command, env={**os.environ, RUN_MARKER: "1"})
        returncode = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if started and _keep():
            kinds = " and ".join(f"{s.kind} on {s.address}" for s in started)
            say(f"KEEP_SERVICES is set: {kinds} left running; make services-stop stops them")
        else:
            stop(started, base)
    return 128 - returncode if returncode < 0 else returncode


USAGE = "usage: services.py up | down | status | run -- COMMAND..."


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["up"]:
            started = up()
            if started:
                say("left running; make services-stop stops them")
            return 0
        if argv[:1] == ["down"]:
            return down()
        if argv[:1] == ["status"]:
            return status()
        if argv[:1] == ["run"]:
            command = argv[2:] if argv[1:2] == ["--"] else argv[1:]
            if command:
                return run(command)
    except ServiceError as exc:
        say(str(exc))
        return 1
    except KeyboardInterrupt:
        say("interrupted; what was started here is stopped again")
        return 130
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
