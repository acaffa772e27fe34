"""Django's psycopg pool: settings, no connection shared across a fork, bounded counts."""

from __future__ import annotations

import os

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.test_settings import load_settings


def _pool_env(monkeypatch, **env):
    for name in (
        "DB_POOL_MAX_SIZE",
        "DB_POOL_MIN_SIZE",
        "DB_POOL_TIMEOUT",
        "DATABASE_CONN_MAX_AGE",
    ):
        monkeypatch.delenv(name, raising=False)
    return load_settings(monkeypatch, **env)


def test_pool_is_on_by_default_with_the_seed_sizes(monkeypatch):
    db = _pool_env(monkeypatch)["DATABASES"]["default"]
    assert db["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 10, "timeout": 30}
    assert db["CONN_MAX_AGE"] == 0  # the pool keeps connections, not each thread


def test_pool_sizes_from_the_environment(monkeypatch):
    db = _pool_env(monkeypatch, DB_POOL_MAX_SIZE="4", DB_POOL_MIN_SIZE="1", DB_POOL_TIMEOUT="5")[
        "DATABASES"
    ]["default"]
    assert db["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 4, "timeout": 5}


def test_pool_off_keeps_persistent_connections(monkeypatch):
    db = _pool_env(monkeypatch, DB_POOL_MAX_SIZE="0", DATABASE_CONN_MAX_AGE="30")["DATABASES"][
        "default"
    ]
    assert "pool" not in db["OPTIONS"] and db["CONN_MAX_AGE"] == 30


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DB_POOL_MAX_SIZE": "2", "DB_POOL_MIN_SIZE": "5"}, "DB_POOL_MIN_SIZE (5)"),
        ({"DB_POOL_MAX_SIZE": "-1"}, "DB_POOL_MAX_SIZE must be 0"),
        ({"DB_POOL_MAX_SIZE": "ten"}, "DB_POOL_MAX_SIZE must be an integer"),
        ({"DB_POOL_TIMEOUT": "0"}, "DB_POOL_TIMEOUT must be positive"),
        ({"DATABASE_CONN_MAX_AGE": "60"}, "DATABASE_CONN_MAX_AGE"),
    ],
)
def test_bad_pool_settings_stop_the_process(monkeypatch, env, message):
    with pytest.raises(ImproperlyConfigured, match=message.replace("(", r"\(").replace(")", r"\)")):
        _pool_env(monkeypatch, **env)


def _backend_pid(conn) -> int:
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_forked_pool_process_never_uses_its_parents_connections():
    from django.db import connection

    from config.celery import db_pool_forget_inherited

    assert connection.pool is not None, "the pool is on in tests too"
    parent_pid = _backend_pid(connection)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: what a Celery pool process does at start
        code = 1
        try:
            os.close(read)
            db_pool_forget_inherited()
            mine = _backend_pid(connection)
            os.write(write, str(mine).encode())
            connection.close()
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    child_pid = int(os.read(read, 64) or b"0")
    os.close(read)
    _, status = os.waitpid(child, 0)
    assert os.WEXITSTATUS(status) == 0
    assert child_pid and child_pid != parent_pid
    # The parent's connection survived the child: no goodbye was sent on its socket.
    assert _backend_pid(connection) == parent_pid


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_worker_connections_stay_bounded_over_many_tasks(worker_factory):
    from django.conf import settings
    from django.db import connection

    from stargazers.tasks import stargazer_crawl
    from workers.health import queue_depths
    from workers.testing import wait_until

    name = settings.DATABASES["default"]["NAME"]

    def worker_connections() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                "pg_backend_pid()",
                [name],
            )
            return cursor.fetchone()[0]

    before = worker_connections()
    worker = worker_factory(concurrency=2)
    for repo_id in range(40):  # unknown repos: each task claims nothing and ends
        stargazer_crawl.apply_async(args=[10_000_000 + repo_id], queue="default")
    wait_until(lambda: sum(queue_depths().values()) == 0, timeout=60)
    wait_until(lambda: "succeeded" in worker.log_path.read_text(), timeout=30)
    # Two pool processes each return their pool after a task, and the parent holds at
    # most its own pool's minimum: never one connection per task.
    assert worker_connections() - before <= 2 + settings.DB_POOL_MIN_SIZE
