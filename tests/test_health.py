"""Health endpoints: healthy with everything up, unhealthy when services are away."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from rest_framework.test import APIClient

from workers.testing import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def client():
    return APIClient()


def test_livez_is_alive(client):
    response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


@pytest.mark.django_db
def test_readyz_ready_when_database_and_redis_reachable(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"ready": True}


@pytest.mark.django_db
def test_readyz_not_ready_when_redis_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["ready"] is False
    assert "redis" in response.json()["message"]


@pytest.fixture
def calm_machine(monkeypatch):
    """CPU and memory readings below the degraded threshold (the test host is shared)."""
    from workers import health

    usage = {
        "cpu_usage": 12.0,
        "memory_usage_percent": 40.0,
        "memory_used_mb": 1,
        "memory_total_mb": 2,
    }
    monkeypatch.setattr(health, "system_usage", lambda: dict(usage))
    return usage


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_health_is_healthy_with_a_worker(client, celery_worker, calm_machine):
    for path in ("/health", "/healthz"):
        response = client.get(path)
        body = response.json()
        assert response.status_code == 200, body
        assert body["status"] == "healthy"
        assert body["checks"]["database"]["status"] == "healthy"
        assert body["checks"]["redis"]["status"] == "healthy"
        assert body["checks"]["workers"]["status"] == "healthy"
        assert body["stats"]["current_worker_count"] >= 1
        assert set(body["stats"]) == {
            "total_accounts_processed",
            "factory_queue_depth",
            "factory_active_workers",
            "current_worker_count",
            "cpu_usage",
            "memory_usage_percent",
        }
        assert body["version"] and body["uptime_seconds"] >= 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_health_is_degraded_when_cpu_is_above_90_percent(client, celery_worker, calm_machine):
    calm_machine["cpu_usage"] = 95.0
    response = client.get("/health")
    body = response.json()
    assert response.status_code == 200  # degraded still answers 200
    assert body["status"] == "degraded"
    assert body["checks"]["workers"]["status"] == "degraded"


@pytest.mark.django_db
def test_health_is_unhealthy_without_workers(client, monkeypatch, quiet_redis_url):
    from workers import health

    # Ask on a Redis database of our own where no worker listens.
    real_snapshot = health.worker_snapshot
    monkeypatch.setattr(
        health,
        "worker_snapshot",
        lambda **kw: real_snapshot(broker_url=quiet_redis_url, **kw),
    )
    response = client.get("/health")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unhealthy"
    assert body["checks"]["workers"]["status"] == "unhealthy"
    assert body["checks"]["database"]["status"] == "healthy"


@pytest.mark.django_db
def test_health_reports_the_llm_worker(client, settings, llm_worker):
    settings.LLM_API_KEY = "k"
    settings.LLM_WORKER = True
    check = client.get("/health").json()["checks"]["llm_worker"]
    assert check["status"] == "healthy"
    assert check["message"].endswith("LLM worker(s)")


@pytest.mark.django_db
def test_health_is_degraded_without_an_llm_worker(client, settings, monkeypatch, quiet_redis_url):
    from workers import health

    settings.LLM_API_KEY = "k"
    settings.LLM_WORKER = True
    # Ask on a Redis database of our own where no worker listens.
    real_consumers = health.llm_consumers
    monkeypatch.setattr(
        health,
        "llm_consumers",
        lambda **kw: real_consumers(broker_url=quiet_redis_url, **kw),
    )
    check = client.get("/health").json()["checks"]["llm_worker"]
    assert check["status"] == "degraded"
    assert "no LLM worker consumes the llm queue" in check["message"]


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "use_worker"), [("", True), ("k", False)])
def test_no_llm_worker_check_when_calls_never_go_to_one(client, settings, key, use_worker):
    settings.LLM_API_KEY = key
    settings.LLM_WORKER = use_worker
    assert "llm_worker" not in client.get("/health").json()["checks"]


def test_health_unhealthy_when_database_and_redis_are_on_wrong_ports():
    """The real web server, started with both services pointed at closed ports."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/gazer",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
            "--timeout",
            "30",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/livez", timeout=5)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"web server did not start: {server.stderr.read().decode()}")
                time.sleep(0.2)
        assert requests.get(f"{base}/livez", timeout=5).json() == {"status": "alive"}

        ready = requests.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["ready"] is False

        health = requests.get(f"{base}/healthz", timeout=15)
        body = health.json()
        assert health.status_code == 503
        assert body["status"] == "unhealthy"
        assert body["checks"]["database"]["status"] == "unhealthy"
        assert body["checks"]["redis"]["status"] == "unhealthy"
        assert body["checks"]["workers"]["status"] == "unhealthy"
    finally:
        server.terminate()
        server.wait(timeout=10)
