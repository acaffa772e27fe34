"""Health checks with seed 002's shapes and rules (seed-behaviour.md §7).

The overall status is the worst check: database, Redis (the broker) and Celery workers.
Workers are unhealthy when none answers, degraded when none is busy while the queues
hold more than 10 messages, or when CPU or memory is above 90 %. With an LLM key and
`LLM_WORKER` on, the system is also degraded while no worker consumes the `llm` queue
(LLM steps would fall back to heuristics).

Product apps add their own checks and figures from `AppConfig.ready()`:
`check_register("supervisor", fn)` (fn() -> Check) and `stat_register(name, fn)`
(fn() -> a JSON value for the `stats` block). Both read the database, so they run only
while it answers; workers/ imports no product app.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil
import redis
from celery import current_app
from django.conf import settings
from django.db import connections

from workers import queues

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


def database_check(*, alias: str = "default") -> Check:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means unreachable
        connections[alias].close_if_unusable_or_obsolete()
        return Check(UNHEALTHY, f"database unreachable: {type(exc).__name__}")
    return Check(HEALTHY)


def redis_client(*, timeout: float = 1.0) -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout
    )


def redis_check() -> Check:
    try:
        redis_client().ping()
    except redis.RedisError as exc:
        return Check(UNHEALTHY, f"redis unreachable: {type(exc).__name__}")
    return Check(HEALTHY)


def queue_depths() -> dict[str, int]:
    """Messages waiting per queue (Redis lists, one per priority step)."""
    client = redis_client()
    depths: dict[str, int] = {}
    for name in (*queues.ALL, queues.LLM):
        keys = [name] + [f"{name}\x06\x16{step}" for step in (1, 2, 3, 4, 5, 6, 7, 8, 9)]
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.llen(key)
            depths[name] = sum(pipe.execute())
    return depths


def worker_snapshot(*, timeout: float = 1.0, broker_url: str | None = None) -> dict:
    """Workers that answer a broadcast, with how many tasks each is running."""
    app = current_app  # the project's Celery app (config.celery sets it as current)
    with app.connection_for_write(broker_url) as connection:
        replies = app.control.inspect(timeout=timeout, connection=connection).active() or {}
    busy = sum(1 for tasks in replies.values() if tasks)
    return {
        "total": len(replies),
        "active": busy,
        "idle": len(replies) - busy,
        "running_tasks": sum(len(tasks) for tasks in replies.values()),
    }


def llm_consumers(*, timeout: float = 1.0, broker_url: str | None = None) -> int:
    """Workers consuming the `llm` queue, from an `active_queues` broadcast."""
    app = current_app
    with app.connection_for_write(broker_url) as connection:
        replies = app.control.inspect(timeout=timeout, connection=connection).active_queues() or {}
    return sum(
        1 for consumed in replies.values() if any(q.get("name") == queues.LLM for q in consumed)
    )


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
        # The apps' own checks (the star graph's "supervisor", seed 002's).
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
