"""Health checks: what /health, /readyz and /livez answer, and the rules behind them.

The overall status is the worst check: database, Redis (the broker) and Celery workers.
Workers are unhealthy when none answers, degraded when none is busy while the queues
hold more than 10 messages, or when CPU or memory is above 90 %. With an LLM key and
`LLM_WORKER` on, the system is also degraded while no worker consumes the `llm` queue
(LLM steps would fall back to heuristics).

Product apps add their own checks and figures from `AppConfig.ready()`:
`check_register(name, fn)` (fn() -> Check) and `stat_register(name, fn)` (fn() -> a
JSON value for the `stats` block). Both read the database, so they run only while it
answers; workers/ imports no product app. The names in the answer (`factory_queue_depth`,
`factory_active_workers`, the star graph's `supervisor` check) are the ones monitoring
clients already parse: they stay, whatever the parts are called inside.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil
import redis
from django.conf import settings
from django.db import connections

from workers import queues
from workers.redis_clients import redis_client

logger = logging.getLogger(__name__)

HEALTHY, DEGRADED, UNHEALTHY = "healthy", "degraded", "unhealthy"
_RANK = {HEALTHY: 0, DEGRADED: 1, UNHEALTHY: 2}
_STARTED = time.monotonic()


@dataclass
class Check:
    status: str
    message: str | None = None
    data: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        body: dict = {"status": self.status}
        if self.message:
            body["message"] = self.message
        return body


_checks: dict[str, Callable[[], Check]] = {}
_stats: dict[str, Callable[[], Any]] = {}


def check_register(name: str, fn: Callable[[], Check]) -> None:
    """Add a check to /health (its name is the key under `checks`)."""
    _checks[name] = fn


def stat_register(name: str, fn: Callable[[], Any]) -> None:
    """Add a figure to /health's `stats` block (None while the database is away)."""
    _stats[name] = fn


def _registered_check(name: str, fn: Callable[[], Check]) -> Check:
    try:
        return fn()
    except Exception as exc:
        logger.warning("health.check_failed", extra={"check": name}, exc_info=True)
        return Check(DEGRADED, f"{name} check failed: {type(exc).__name__}")


def database_check(*, alias: str = "default", timeout: float = 3.0) -> Check:
    try:
        pool = connections[alias].pool
        if pool is not None:
            # Through the pool, but waiting `timeout` rather than DB_POOL_TIMEOUT: a probe
            # must answer quickly when Postgres is away.
            pool.open()
            with pool.connection(timeout=timeout) as raw:
                raw.execute("SELECT 1").fetchone()
        else:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means unreachable
        connections[alias].close_if_unusable_or_obsolete()
        return Check(UNHEALTHY, f"database unreachable: {type(exc).__name__}")
    return Check(HEALTHY)


def redis_check() -> Check:
    try:
        redis_client(settings.REDIS_URL).ping()
    except redis.RedisError as exc:
        return Check(UNHEALTHY, f"redis unreachable: {type(exc).__name__}")
    return Check(HEALTHY)


def queue_depths() -> dict[str, int]:
    """Messages waiting per queue (Redis lists, one per priority step)."""
    names = (*queues.ALL, queues.LLM)
    steps = ("", *(f"\x06\x16{step}" for step in (1, 2, 3, 4, 5, 6, 7, 8, 9)))
    with redis_client(settings.REDIS_URL).pipeline(transaction=False) as pipe:
        for name in names:
            for step in steps:
                pipe.llen(f"{name}{step}")
        lengths = pipe.execute()
    return {
        name: sum(lengths[i * len(steps) : (i + 1) * len(steps)]) for i, name in enumerate(names)
    }


def workers_alive(*, timeout: float = 1.0, broker_url: str | None = None) -> list[dict]:
    """Workers by their last liveness beat (workers/liveness.py): no broadcast, ~1 ms."""
    from workers.liveness import workers_alive as alive

    return alive(broker_url or settings.REDIS_URL, timeout=timeout)


def worker_snapshot(*, timeout: float = 1.0, broker_url: str | None = None) -> dict:
    """Live workers, with how many tasks each is running (from their beats)."""
    workers = workers_alive(timeout=timeout, broker_url=broker_url)
    busy = sum(1 for w in workers if w.get("active"))
    return {
        "total": len(workers),
        "active": busy,
        "idle": len(workers) - busy,
        "running_tasks": sum(int(w.get("active") or 0) for w in workers),
    }


def llm_consumers(*, timeout: float = 1.0, broker_url: str | None = None) -> int:
    """Live workers consuming the `llm` queue (from their beats)."""
    workers = workers_alive(timeout=timeout, broker_url=broker_url)
    return sum(1 for w in workers if queues.LLM in (w.get("queues") or ()))


def llm_worker_check() -> Check | None:
    """Whether LLM calls have a worker to go to; None when they never go to one."""
    if not (settings.LLM_WORKER and settings.LLM_API_KEY):
        return None
    try:
        consumers = llm_consumers()
    except Exception as exc:  # noqa: BLE001 - a failing check reports, never raises
        return Check(DEGRADED, f"LLM workers could not be asked: {type(exc).__name__}")
    if not consumers:
        return Check(
            DEGRADED, "no LLM worker consumes the llm queue: LLM steps fall back to heuristics"
        )
    return Check(HEALTHY, f"{consumers} LLM worker(s)")


def system_usage() -> dict:
    memory = psutil.virtual_memory()
    return {
        "cpu_usage": psutil.cpu_percent(interval=None),
        "memory_usage_percent": memory.percent,
        "memory_used_mb": int(memory.used / 2**20),
        "memory_total_mb": int(memory.total / 2**20),
    }


def workers_check(*, redis_ok: bool) -> tuple[Check, dict]:
    usage = system_usage()
    if not redis_ok:
        return Check(UNHEALTHY, "broker unreachable; workers cannot be asked"), {
            "total": 0,
            "active": 0,
            "idle": 0,
            "queue_depth": 0,
            **usage,
        }
    try:
        workers = worker_snapshot()
        depth = sum(queue_depths().values())
    except Exception as exc:  # noqa: BLE001
        return Check(UNHEALTHY, f"workers could not be asked: {type(exc).__name__}"), {
            "total": 0,
            "active": 0,
            "idle": 0,
            "queue_depth": 0,
            **usage,
        }
    stats = {**workers, "queue_depth": depth, **usage}
    if workers["total"] == 0:
        return Check(UNHEALTHY, "no Celery worker is running"), stats
    if workers["active"] == 0 and depth > 10:
        return Check(DEGRADED, f"no worker is busy while {depth} messages wait"), stats
    if usage["cpu_usage"] > 90 or usage["memory_usage_percent"] > 90:
        return Check(DEGRADED, "CPU or memory above 90%"), stats
    return Check(HEALTHY, f"{workers['total']} worker(s)"), stats


def health_report() -> tuple[dict, int]:
    """The `/health` body and its HTTP status (503 only when unhealthy)."""
    database = database_check()
    broker = redis_check()
    workers, stats = workers_check(redis_ok=broker.status == HEALTHY)
    checks = {"database": database, "redis": broker, "workers": workers}
    if broker.status == HEALTHY and (llm := llm_worker_check()) is not None:
        checks["llm_worker"] = llm
    if database.status == HEALTHY:
        # The apps' own checks (the star graph's, under the name `supervisor`).
        for name, fn in _checks.items():
            checks[name] = _registered_check(name, fn)
    registered = {name: fn() if database.status == HEALTHY else None for name, fn in _stats.items()}
    overall = max((c.status for c in checks.values()), key=_RANK.__getitem__)
    body = {
        "status": overall,
        "version": settings.VERSION,
        "uptime_seconds": int(time.monotonic() - _STARTED),
        "checks": {name: check.as_dict() for name, check in checks.items()},
        "stats": {
            **registered,
            "factory_queue_depth": stats["queue_depth"],
            "factory_active_workers": stats["active"],
            "current_worker_count": stats["total"],
            "cpu_usage": stats["cpu_usage"],
            "memory_usage_percent": stats["memory_usage_percent"],
        },
    }
    return body, 503 if overall == UNHEALTHY else 200


def readiness() -> tuple[dict, int]:
    database = database_check()
    broker = redis_check()
    problems = [c.message for c in (database, broker) if c.status != HEALTHY]
    if problems:
        return {"ready": False, "message": "; ".join(problems)}, 503
    return {"ready": True}, 200
