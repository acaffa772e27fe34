"""Worker liveness without a broadcast: each worker beats into Redis, readers look.

Asking the workers over remote control (`inspect().active()`) waits out its whole
timeout on every call, a second or more, which a health probe called every few seconds
cannot afford. Instead every worker (both Celery apps) runs `LivenessBeacon`, a consumer
bootstep that every `BEAT_SECONDS` writes what the readers need: its pool (kind,
processes, configured maximum, autoscale range), the queues it consumes and how many
tasks it is running. A beat lives `TTL_SECONDS`; a worker that stops deletes its own, and
one killed outright drops out when its last beat expires.

Readers (`workers.health`, the admin API) read the beats in one round trip. This module
imports neither Django nor the project's tasks: the LLM worker runs it too.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

import redis
from celery import bootsteps

from workers.redis_clients import redis_client

logger = logging.getLogger(__name__)

BEAT_SECONDS = 2.0
TTL_SECONDS = 10.0
BEATS_KEY = "gazer:workers:beats"  # sorted set: hostname -> time of its last beat
INFO_KEY = "gazer:workers:info:{hostname}"  # JSON of the last beat, expires with it


def worker_info(consumer) -> dict[str, Any]:
    """What one beat says about the worker that sends it."""
    from celery.worker import state

    controller = consumer.controller
    pool = controller.pool
    try:
        info = dict(pool.info or {})
    except Exception:  # noqa: BLE001 - a pool mid-resize still beats
        info = {}
    processes = info.get("processes")
    autoscaler = getattr(controller, "autoscaler", None)
    try:
        queues = sorted(q.name for q in consumer.task_consumer.queues)
    except AttributeError:
        queues = sorted(consumer.app.amqp.queues.consume_from or [])
    return {
        "hostname": consumer.hostname,
        "pid": os.getpid(),
        "pool": {
            "implementation": f"{type(pool).__module__}:{type(pool).__name__}",
            "processes": len(processes) if isinstance(processes, list) else None,
            "max_concurrency": info.get("max-concurrency"),
        },
        "autoscaler": autoscaler.info() if autoscaler is not None else None,
        "queues": queues,
        "active": len(state.active_requests),
        "sent_at": time.time(),
    }


def beat_write(client: redis.Redis, info: dict[str, Any]) -> None:
    hostname = info["hostname"]
    with client.pipeline(transaction=False) as pipe:
        pipe.set(INFO_KEY.format(hostname=hostname), json.dumps(info), ex=int(TTL_SECONDS))
        pipe.zadd(BEATS_KEY, {hostname: info["sent_at"]})
        pipe.execute()


def beat_delete(client: redis.Redis, hostname: str) -> None:
    with client.pipeline(transaction=False) as pipe:
        pipe.delete(INFO_KEY.format(hostname=hostname))
        pipe.zrem(BEATS_KEY, hostname)
        pipe.execute()


def workers_alive(url: str, *, timeout: float = 1.0) -> list[dict[str, Any]]:
    """Every worker whose last beat is younger than the TTL, by hostname."""
    client = redis_client(url, timeout=timeout)
    now = time.time()
    with client.pipeline(transaction=False) as pipe:
        pipe.zremrangebyscore(BEATS_KEY, "-inf", now - TTL_SECONDS)
        pipe.zrangebyscore(BEATS_KEY, now - TTL_SECONDS, "+inf")
        _, names = pipe.execute()
    if not names:
        return []
    hostnames = [n.decode() if isinstance(n, bytes) else n for n in names]
    raw = client.mget([INFO_KEY.format(hostname=h) for h in hostnames])
    alive = []
    for value in raw:
        if value:
            try:
                alive.append(json.loads(value))
            except ValueError:
                continue
    return sorted(alive, key=lambda w: w["hostname"])


class LivenessBeacon(bootsteps.StartStopStep):
    """Consumer bootstep: a beat at start, every BEAT_SECONDS, and a goodbye at stop."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self.timer_ref = None
        self.client = None
        self.consumer = None

    def start(self, parent) -> None:
        self.consumer = parent
        self.client = redis_client(parent.app.conf.broker_url)
        self.beat()
        self.timer_ref = parent.timer.call_repeatedly(BEAT_SECONDS, self.beat)

    def beat(self) -> None:
        try:
            beat_write(self.client, worker_info(self.consumer))
        except Exception:  # a missed beat is retried in BEAT_SECONDS
            logger.debug("workers.liveness_beat_failed", exc_info=True)

    def stop(self, parent) -> None:
        if self.timer_ref is not None:
            self.timer_ref.cancel()
            self.timer_ref = None
        if self.client is not None:
            try:
                beat_delete(self.client, parent.hostname)
            except Exception:  # the beat expires by itself
                logger.debug("workers.liveness_goodbye_failed", exc_info=True)

    shutdown = stop
