"""The one Celery app. Every setting is explicit, with the reason beside it."""

from __future__ import annotations

import os

from celery import Celery, signals
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.conf import settings

from workers import queues
from workers.broker import restore_guard_install
from workers.liveness import LivenessBeacon

# A Redis restart with tasks held unacknowledged must not stop the worker.
restore_guard_install()

app = Celery("gazer")

# The longest a task may legitimately run: the star-graph dead man's switch (6 h by
# default). Every other task has a much shorter limit of its own.
LONGEST_TASK_SECONDS = settings.STARGAZER_TASK_DEADLINE_SECONDS

# Routing table: the default queue of each task family. Callers override per call with
# a name from workers.queues (new accounts → high, refreshes → low).
TASK_ROUTES = {
    "workers.*": {"queue": queues.DEFAULT},
    "users.*": {"queue": queues.DEFAULT},
    "repos.*": {"queue": queues.DEFAULT},
    "activity.*": {"queue": queues.LOW},
    "feed.*": {"queue": queues.DEFAULT},
    "stargazers.*": {"queue": queues.DEFAULT},
    # Crawls default to the refresh queue; new accounts' crawls are sent to high.
    "stargazers.stargazer_crawl": {"queue": queues.LOW},
}

app.conf.update(
    broker_url=settings.CELERY_BROKER_URL,
    broker_connection_retry_on_startup=True,
    broker_transport_options={
        # Consume queues in the order the worker lists them (high, default, low)
        # instead of round-robin, so new accounts never wait behind refreshes.
        "queue_order_strategy": "priority",
        # An unacked message is redelivered after this long. It must exceed the longest
        # task, or a running task would be delivered a second time. Recovery never
        # waits for it: a beat sweep re-enqueues due work from the database.
        "visibility_timeout": LONGEST_TASK_SECONDS + 3600,
    },
    task_queues=[Queue(name) for name in queues.ALL],
    task_default_queue=queues.DEFAULT,
    task_routes=TASK_ROUTES,
    # On Redis a message without priority counts as the highest (0); give every message
    # a middle priority so an explicit one can still rank above or below it.
    task_default_priority=5,
    # JSON only: tasks take ids and primitives, never pickled objects or secrets.
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    # Ack after the task body ran: a worker that dies mid-task does not lose the
    # message. Tasks are idempotent (claims + upserts), so a redelivery is harmless.
    task_acks_late=True,
    # Off: a task that kills its own process would be redelivered forever; the DB
    # sweep recovers that work instead.
    task_reject_on_worker_lost=False,
    # One message at a time per process: tasks can run for minutes, and prefetched
    # messages would sit behind them unavailable to idle workers.
    worker_prefetch_multiplier=1,
    # Default limits for tasks that do not set their own: a minute of soft time for
    # cleanup, a hard kill after two.
    task_soft_time_limit=120,
    task_time_limit=180,
    # Retries default to bounded exponential backoff with jitter (per-task overrides
    # set autoretry_for explicitly).
    task_default_retry_delay=5,
    # Results are not needed (state lives in the database); chords opt in.
    task_ignore_result=True,
    result_backend=settings.CELERY_BROKER_URL,
    result_expires=3600,
    # Flower needs task events.
    worker_send_task_events=True,
    task_send_sent_event=True,
    # Replace child processes now and then to cap memory growth from large pages.
    worker_max_tasks_per_child=500,
    worker_hijack_root_logger=False,
    timezone="UTC",
    enable_utc=True,
    beat_scheduler="django_celery_beat.schedulers:DatabaseScheduler",
    # With --autoscale, grow the pool only while CPU < 80 % and memory < 85 %.
    worker_autoscaler="workers.autoscale:ResourceAwareAutoscaler",
)

# Every worker beats its liveness into Redis, so /health and the admin API never wait
# on a broadcast (workers/liveness.py).
app.steps["consumer"].add(LivenessBeacon)

app.autodiscover_tasks()

# Connections inherited from the parent, kept referenced so they are never closed here:
# closing one would say goodbye to Postgres on a socket the parent still uses.
_INHERITED_DB: list = []


@signals.worker_process_init.connect
def db_pool_forget_inherited(**_kwargs) -> None:
    """A forked pool process starts with no database connection of its parent's.

    Django's psycopg pool is per process; a child forked after the parent used the
    database would otherwise hand out the parent's sockets. The child forgets them
    (without network IO) and opens its own on first use. Celery closes a prefork child's
    pool after each task, so the child keeps no idle connections (min_size 0).
    """
    from django.db import connections
    from django.db.backends.postgresql.base import DatabaseWrapper

    _INHERITED_DB.extend(DatabaseWrapper._connection_pools.values())
    DatabaseWrapper._connection_pools.clear()
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None:
            _INHERITED_DB.append(conn.connection)
            conn.connection = None
        pool = conn.settings_dict.get("OPTIONS", {}).get("pool")
        if isinstance(pool, dict):
            conn.settings_dict["OPTIONS"]["pool"] = {**pool, "min_size": 0}
