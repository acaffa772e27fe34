"""Worker liveness from the workers' own beats: fast reads, gone when a worker stops."""

from __future__ import annotations

import time

import pytest
from rest_framework.test import APIClient

from workers import health, liveness
from workers.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _alive() -> dict[str, dict]:
    return {w["hostname"]: w for w in health.workers_alive()}


def test_workers_beat_their_pool_and_queues(celery_worker, llm_worker):
    alive = _alive()
    worker = alive[celery_worker.hostname]
    assert worker["queues"] == ["default", "high", "low"]
    assert "prefork" in worker["pool"]["implementation"]
    assert worker["pool"]["processes"] == 2 and worker["pool"]["max_concurrency"] == 2
    assert alive[llm_worker.hostname]["queues"] == ["llm"]
    assert health.llm_consumers() >= 1
    assert health.worker_snapshot()["total"] >= 2


def test_a_stopped_worker_says_goodbye_and_a_killed_one_expires(worker_factory):
    stopped = worker_factory()
    killed = worker_factory()
    assert {stopped.hostname, killed.hostname} <= set(_alive())
    stopped.stop()
    assert stopped.hostname not in _alive()  # at once: its beat was deleted
    killed.kill()
    assert killed.hostname in _alive()  # no goodbye from SIGKILL ...
    wait_until(  # ... so its last beat expires
        lambda: killed.hostname not in _alive(),
        timeout=liveness.TTL_SECONDS + 5,
        interval=0.5,
    )


def test_health_and_admin_reads_never_wait_on_a_broadcast(settings, celery_worker):
    """Before, each call waited out a 1 s remote-control timeout (2.1 s per /health)."""
    settings.ADMIN_API_KEY = "k"
    client = APIClient(HTTP_AUTHORIZATION="Bearer k")
    paths = ["/health", "/admin-api/stats", "/admin-api/queue", "/admin-api/workers"]
    for path in paths:
        client.get(path)  # warm-up
        timings = []
        for _ in range(20):
            start = time.perf_counter()
            response = client.get(path)
            timings.append(time.perf_counter() - start)
            assert response.status_code == 200, response.content
        # Far below one broadcast timeout even on a busy shared machine.
        assert max(timings) < 0.5, (path, max(timings))
    workers = client.get("/admin-api/workers").json()["workers"]
    mine = next(w for w in workers if w["name"] == celery_worker.hostname)
    assert mine["processes"] == 2 and mine["queues"] == ["default", "high", "low"]
