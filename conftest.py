"""Test-wide fixtures: isolated Postgres and Redis databases, and real Celery workers.

Each run uses its own Postgres test database (`test_gazer` + GAZER_TEST_DB_SUFFIX) and its
own Redis database number (GAZER_TEST_REDIS_DB, default 15), which it flushes; the
shared Redis database 0 and the development database are never touched. Both come from
the test settings (`config/test_settings.py`).
"""

from __future__ import annotations

import pytest
import redis


def redis_url_with_db(url: str, db: int) -> str:
    base = url.rsplit("/", 1)[0] if url.count("/") >= 3 else url
    return f"{base}/{db}"


def pytest_configure(config):
    from django.conf import settings

    from config.celery import app

    settings.REDIS_URL = redis_url_with_db(settings.REDIS_URL, settings.TEST_REDIS_DB)
    settings.CELERY_BROKER_URL = settings.REDIS_URL
    app.conf.broker_url = settings.REDIS_URL
    app.conf.result_backend = settings.REDIS_URL
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = settings.TEST_DB_NAME
    pool = settings.DATABASES["default"]["OPTIONS"].get("pool")
    if isinstance(pool, dict):
        # Some tests stand for fifty concurrent requests with fifty threads of one
        # process; in production those are spread over processes with a pool each.
        pool["max_size"] = max(pool["max_size"], 60)


@pytest.fixture
def quiet_redis_url():
    """A Redis URL (the test settings' quiet database) where no worker of this run listens."""
    from django.conf import settings

    return redis_url_with_db(settings.REDIS_URL, settings.TEST_REDIS_QUIET_DB)


@pytest.fixture(scope="session")
def redis_test_client():
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture(scope="session")
def simulator():
    """The GitHub simulator (with its LLM endpoint) for the whole session."""
    from django.conf import settings

    from ghsim.testing import SimulatorProcess

    sim = SimulatorProcess(seed=1)
    sim.start()
    previous = {
        name: getattr(settings, name)
        for name in (
            "GITHUB_API_URL",
            "GITHUB_WEB_URL",
            "LLM_API_BASE",
            "MEDIA_FETCH_ALLOW_PRIVATE",
            "LLM_API_KEY",
        )
    }
    settings.GITHUB_API_URL = sim.api_url
    settings.GITHUB_WEB_URL = sim.web_url
    settings.LLM_API_BASE = sim.llm_base
    settings.LLM_API_KEY = "sim-key"
    settings.MEDIA_FETCH_ALLOW_PRIVATE = True
    yield sim
    for name, value in previous.items():
        setattr(settings, name, value)
    sim.stop()


def worker_env(**overrides: str) -> dict[str, str]:
    """Environment for a worker subprocess that sees the test database and Redis."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": (
            f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:"
            f"{db.get('PORT') or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "GITHUB_API_URL": settings.GITHUB_API_URL,
        "GITHUB_WEB_URL": settings.GITHUB_WEB_URL,
        "GITHUB_TOKENS": ",".join(settings.GITHUB_TOKENS),
        "LLM_API_BASE": settings.LLM_API_BASE or "",
        "LLM_API_KEY": settings.LLM_API_KEY or "",
        "LLM_MODEL": settings.LLM_MODEL,
        "MEDIA_FETCH_ALLOW_PRIVATE": str(settings.MEDIA_FETCH_ALLOW_PRIVATE).lower(),
        "SECRET_KEY": settings.SECRET_KEY,
        "TOKEN_ENCRYPTION_KEY": settings.TOKEN_ENCRYPTION_KEY,
        "TOKEN_ENCRYPTION_KEYS_OLD": ",".join(settings.TOKEN_ENCRYPTION_KEYS_OLD),
        "GAZER_DOTENV": "false",
        "ADMIN_API_KEY": settings.ADMIN_API_KEY,
        "API_KEY": settings.API_KEY,
        "OPENROUTER_API_KEY": "",
        "LOG_LEVEL": "INFO",
    }
    env.update(overrides)
    return env


class _SessionWorker:
    """The shared worker, stopped while a test runs workers of its own, and the shared
    LLM worker, which runs for the whole session.

    All general workers of a run consume the same queues, so a test's own workers (with
    their own environment) must be the only consumers while it runs. The LLM worker only
    consumes `llm` and keeps no state, so every test's workers share it.
    """

    def __init__(self) -> None:
        self.worker = None
        self.llm_worker = None

    def ensure_running(self):
        from workers.testing import CeleryWorkerProcess

        self.ensure_llm_running()
        if self.worker is None or self.worker.process.poll() is not None:
            self.worker = CeleryWorkerProcess(env=worker_env()).start()
        return self.worker

    def ensure_llm_running(self):
        from workers.testing import CeleryWorkerProcess

        if self.llm_worker is None or self.llm_worker.process.poll() is not None:
            self.llm_worker = CeleryWorkerProcess.llm(env=worker_env()).start()
        return self.llm_worker

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    def stop_all(self) -> None:
        self.stop()
        if self.llm_worker is not None:
            self.llm_worker.stop()
            self.llm_worker = None


@pytest.fixture(scope="session")
def _session_worker(request, django_db_setup, redis_test_client):
    # Always pointed at the session's GitHub simulator, so every integration test sees
    # the same world whichever test started the worker.
    request.getfixturevalue("simulator")
    holder = _SessionWorker()
    yield holder
    holder.stop_all()


@pytest.fixture
def worker_factory(_session_worker):
    """Start workers of the test's own (e.g. two racing, or one to SIGKILL).

    The shared worker is stopped first so these are the only consumers; all are
    stopped afterwards.
    """
    from workers.testing import CeleryWorkerProcess

    _session_worker.stop()
    _session_worker.ensure_llm_running()
    started: list[CeleryWorkerProcess] = []

    def start(**kwargs) -> CeleryWorkerProcess:
        env = worker_env(**kwargs.pop("env", {}))
        worker = CeleryWorkerProcess(env=env, **kwargs).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def celery_worker(_session_worker):
    """The shared real worker, consuming high, default and low (started on first use),
    with the shared LLM worker beside it."""
    return _session_worker.ensure_running()


@pytest.fixture
def llm_worker(_session_worker):
    """The shared LLM worker (the `llm` queue; started on first use)."""
    return _session_worker.ensure_llm_running()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        from workers.testing import RUNNING

        for worker in RUNNING:
            report.sections.append((f"celery worker {worker.name} log", worker.log_tail(120)))
