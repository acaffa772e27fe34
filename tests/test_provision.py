"""`scripts/services.py` and the make targets it wraps: PostgreSQL and Redis started where
DATABASE_URL and REDIS_URL point when nothing answers there, used as they are when
something does, and stopped again. Every service started here is on a free port with
its data in a folder of the test's own; the machine's own services are only ever used.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest
import redis

from workers import demo
from workers.testing import free_port

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "services.py"
# An address of the documentation range (RFC 5737): never local, never answers.
REMOTE = "192.0.2.10"


def _load_script():
    spec = importlib.util.spec_from_file_location("gazer_services", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


services = _load_script()


def _shared_database_url() -> str:
    """The URL of the Postgres this test run uses (one that answers)."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"postgres://{db.get('USER') or 'postgres'}@{db['HOST']}:{db['PORT']}/postgres"


def _env(base: Path, *, database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of a command as a developer's shell has it: none of the test run's
    own settings, make state or services marker."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GAZER_", "DJANGO_", "MAKE", "MFLAGS", "LITELLM_"))
        and name not in {"KEEP_SERVICES", "SECRET_KEY", "TOKEN_ENCRYPTION_KEY"}
        and not name.startswith("THROTTLE_RATE_")
    }
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        GAZER_SERVICES_DIR=str(base),
        GAZER_DOTENV="false",
        **extra,
    )
    return env


def _script(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _answers(kind: str, port: int) -> bool:
    return services.probe(services.Service(kind, "", "127.0.0.1", port)) == "answers"


@pytest.fixture
def services_dir():
    """A services folder of the test's own, whose services are stopped afterwards.

    Not under pytest's tmp_path (root's, mode 0700): as root, PostgreSQL runs as the
    `postgres` user, which must reach it.
    """
    path = Path(tempfile.mkdtemp(prefix="gazer-services-"))
    path.chmod(0o755)
    yield path
    services.down(path)
    shutil.rmtree(path, ignore_errors=True)


def test_urls_name_the_service_and_whether_it_may_be_started_here():
    pg = services.database_service("postgres://gazer:secret@[::1]:5433/gazer")
    assert (pg.host, pg.port, pg.user, pg.password) == ("::1", 5433, "gazer", "secret")
    assert pg.local
    assert pg.address == "[::1]:5433"
    default = services.database_service("postgres://127.0.0.1/gazer")
    assert (default.port, default.user) == (5432, "postgres")
    assert services.database_service("postgres:///gazer?host=/var/run/postgresql") is None
    assert not services.database_service(f"postgres://postgres@{REMOTE}:5432/gazer").local
    assert services.redis_service("redis://localhost/0").port == 6379
    assert services.redis_service("redis://localhost/0").local
    assert services.redis_service("unix:///run/redis.sock") is None


def test_urls_are_read_as_the_settings_read_them(tmp_path):
    env_file = tmp_path / "env"
    env_file.write_text("DATABASE_URL=postgres://postgres@127.0.0.1:5999/gazer\n")
    urls = services.configured(
        {
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5998/gazer",
            "REDIS_URL": "redis://127.0.0.1:6998",
            "GAZER_ENV_FILE": str(env_file),
            "GAZER_DOTENV": "false",
        }
    )
    assert urls["DATABASE_URL"].endswith(":5999/gazer")  # the named file wins
    assert urls["REDIS_URL"] == "redis://127.0.0.1:6998"  # the shell where it says nothing
    defaults = services.configured({"GAZER_DOTENV": "false"})
    assert defaults == {
        "DATABASE_URL": services.DEFAULT_DATABASE_URL,
        "REDIS_URL": services.DEFAULT_REDIS_URL,
    }


def test_missing_binaries_without_root_stop_with_the_command_to_run(monkeypatch):
    monkeypatch.setattr(services, "pg_bindir", lambda data=None: None)
    monkeypatch.setattr(services.shutil, "which", lambda name: None)
    monkeypatch.setattr(services.os, "geteuid", lambda: 1000)
    wanted = [
        services.database_service("postgres://postgres@127.0.0.1:5999/gazer"),
        services.redis_service("redis://127.0.0.1:6999"),
    ]
    with pytest.raises(services.ServiceError) as error:
        services.ensure_installed(wanted)
    assert "sudo apt-get install -y postgresql redis-server" in str(error.value)
    assert "127.0.0.1:5999" in str(error.value) and "127.0.0.1:6999" in str(error.value)


def test_a_remote_address_is_refused_clearly_and_nothing_is_started(services_dir):
    remote_db = _script(
        "up",
        env=_env(
            services_dir,
            database_url=f"postgres://postgres@{REMOTE}:5432/gazer",
            redis_url=f"redis://127.0.0.1:{free_port()}/0",
        ),
    )
    assert remote_db.returncode == 1
    assert f"cannot reach PostgreSQL at {REMOTE}:5432" in remote_db.stdout
    assert "remote host" in remote_db.stdout
    remote_redis = _script(
        "up",
        env=_env(
            services_dir,
            database_url=_shared_database_url(),
            redis_url=f"redis://{REMOTE}:6379",
        ),
    )
    assert remote_redis.returncode == 1
    assert f"cannot reach Redis at {REMOTE}:6379" in remote_redis.stdout
    assert "remote host" in remote_redis.stdout
    assert list(services_dir.iterdir()) == []


def test_a_port_held_by_something_else_is_refused(services_dir):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        result = _script(
            "up",
            env=_env(
                services_dir,
                database_url=_shared_database_url(),
                redis_url=f"redis://127.0.0.1:{port}/0",
            ),
        )
    assert result.returncode == 1
    assert f"127.0.0.1:{port} (REDIS_URL) is in use, but not by Redis" in result.stdout
    assert list(services_dir.iterdir()) == []


def test_run_uses_a_service_that_answers_and_leaves_it_alone(services_dir):
    port = free_port()
    own = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not _answers("Redis", port) and time.monotonic() < deadline:
            time.sleep(0.1)
        env = _env(
            services_dir,
            database_url=_shared_database_url(),
            redis_url=f"redis://127.0.0.1:{port}/0",
        )
        result = _script("run", "--", "redis-cli", "-p", str(port), "set", "left", "alone", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "started" not in result.stdout and "stopped" not in result.stdout
        assert own.poll() is None
        assert redis.Redis(port=port).get("left") == b"alone"
        assert _answers("PostgreSQL", int(_shared_database_url().rsplit(":", 1)[1].split("/")[0]))
        assert list(services_dir.iterdir()) == []
    finally:
        own.terminate()
        own.wait(timeout=30)


def test_run_stops_what_it_started_unless_keep_services(services_dir):
    port = free_port()
    env = _env(
        services_dir,
        database_url=_shared_database_url(),
        redis_url=f"redis://127.0.0.1:{port}/0",
    )
    result = _script("run", "--", "redis-cli", "-p", str(port), "ping", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PONG" in result.stdout
    assert f"started Redis on 127.0.0.1:{port}" in result.stdout
    assert f"stopped Redis on 127.0.0.1:{port}" in result.stdout
    assert not _answers("Redis", port)

    failing = _script("run", "--", "sh", "-c", "exit 3", env=env)
    assert failing.returncode == 3  # the command's status, after the stop
    assert not _answers("Redis", port)

    kept = _script("run", "--", "true", env={**env, "KEEP_SERVICES": "1"})
    assert kept.returncode == 0
    assert "make services-stop" in kept.stdout
    assert _answers("Redis", port)
    stopped = _script("down", env=env)
    assert stopped.returncode == 0 and "stopped Redis" in stopped.stdout
    assert not _answers("Redis", port)


@pytest.mark.integration
def test_up_starts_both_reuses_them_and_a_second_start_keeps_the_data(services_dir):
    db_port, redis_port = free_port(), free_port()
    env = _env(
        services_dir,
        database_url=f"postgres://postgres@127.0.0.1:{db_port}/gazer",
        redis_url=f"redis://127.0.0.1:{redis_port}/0",
    )
    first = _script("up", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"started PostgreSQL on 127.0.0.1:{db_port}" in first.stdout
    assert f"started Redis on 127.0.0.1:{redis_port}" in first.stdout
    with psycopg.connect(
        host="127.0.0.1", port=db_port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute("CREATE TABLE kept (value int)")
        conn.execute("INSERT INTO kept VALUES (42)")
    assert redis.Redis(port=redis_port).ping()

    again = _script("up", env=env)
    assert again.returncode == 0
    assert "started" not in again.stdout
    assert f"PostgreSQL answers at 127.0.0.1:{db_port}" in again.stdout

    down = _script("down", env=env)
    assert down.returncode == 0 and "stopped PostgreSQL and Redis" in down.stdout
    assert not _answers("PostgreSQL", db_port) and not _answers("Redis", redis_port)
    assert "nothing started" in _script("down", env=env).stdout

    # Over the old data, with a user the cluster was not made for: trust auth for it too.
    env["DATABASE_URL"] = f"postgres://gazer@127.0.0.1:{db_port}/gazer"
    second = _script("up", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"started PostgreSQL on 127.0.0.1:{db_port}" in second.stdout
    assert "creating a PostgreSQL cluster" not in second.stdout
    with psycopg.connect(host="127.0.0.1", port=db_port, user="gazer", dbname="postgres") as c:
        assert c.execute("SELECT value FROM kept").fetchall() == [(42,)]
    assert _script("down", env=env).returncode == 0
    assert not _answers("PostgreSQL", db_port) and not _answers("Redis", redis_port)


def _lines(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


@pytest.mark.integration
@pytest.mark.timeout(1800)
def test_make_demo_where_nothing_listens_brings_up_services_and_ctrl_c_stops_them(
    services_dir, tmp_path
):
    db_port, redis_port = free_port(), free_port()
    web_port, sim_port, flower_port = free_port(), free_port(), free_port()
    env = _env(
        services_dir,
        database_url=f"postgres://postgres@127.0.0.1:{db_port}/gazer",
        redis_url=f"redis://127.0.0.1:{redis_port}/0",
        DEMO_WEB_PORT=str(web_port),
        DEMO_SIM_PORT=str(sim_port),
        DEMO_FLOWER_PORT=str(flower_port),
        TMPDIR=str(tmp_path),  # the demo's logs and simulator data
    )
    env.pop("GAZER_DOTENV")  # the demo reads `.env` for its secrets, as a developer's does
    profiles = len(demo.DEMO_LOGINS) + len(demo.DEMO_GHOSTS)
    make = subprocess.Popen(
        ["make", "--no-print-directory", "demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(make.stdout, lines), daemon=True).start()
    output: list[str] = []
    try:
        ready = None
        deadline = time.monotonic() + 1500
        while ready is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=5)
            except queue.Empty:
                continue
            if line is None:
                break
            output.append(line)
            ready = re.search(r"Gazer demo: (\d+) of (\d+) demo profiles ready", line)
        text = "".join(output)
        assert f"started PostgreSQL on 127.0.0.1:{db_port}" in text, text[-3000:]
        assert f"started Redis on 127.0.0.1:{redis_port}" in text
        assert ready is not None, text[-3000:]
        assert ready.groups() == (str(profiles), str(profiles)), text[-3000:]

        os.killpg(make.pid, signal.SIGINT)  # Ctrl+C
        make.wait(timeout=180)
        while (line := lines.get(timeout=30)) is not None:
            output.append(line)
        text = "".join(output)
        assert f"stopped PostgreSQL on 127.0.0.1:{db_port}" in text, text[-3000:]
        assert f"stopped Redis on 127.0.0.1:{redis_port}" in text
        assert not _answers("PostgreSQL", db_port) and not _answers("Redis", redis_port)
        assert not services.pg_running(services_dir) and not services.redis_running(services_dir)
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", web_port)) != 0
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGTERM)
            make.wait(timeout=120)


def test_a_service_of_this_folder_running_elsewhere_is_named_not_stopped(services_dir):
    first, second = free_port(), free_port()
    env = _env(
        services_dir,
        database_url=_shared_database_url(),
        redis_url=f"redis://127.0.0.1:{first}/0",
    )
    assert _script("up", env=env).returncode == 0
    moved = _script("up", env={**env, "REDIS_URL": f"redis://127.0.0.1:{second}/0"})
    assert moved.returncode == 1
    assert "runs, but not where the URL points" in moved.stdout
    assert "make services-stop" in moved.stdout
    assert _answers("Redis", first) and not _answers("Redis", second)
