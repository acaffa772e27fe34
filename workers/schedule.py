"""Periodic tasks, seeded into django-celery-beat by `manage.py setup_periodic_tasks`.

Seeding uses get_or_create by name, so an interval or enabled flag edited in Django admin
survives later seeding. `expires` is close to the interval: a beat message that waited
that long is stale and the next one will come.
"""

from __future__ import annotations

from dataclasses import dataclass

from workers import queues


@dataclass(frozen=True)
class Periodic:
    name: str
    task: str
    every_seconds: int
    queue: str = queues.DEFAULT
    description: str = ""


PERIODIC_TASKS: list[Periodic] = [
    Periodic(
        name="diagnostics: hourly snapshot",
        task="workers.diagnostics_record",
        every_seconds=3600,
        description="Seed 002's hourly diagnostics, logged and stored.",
    ),
    Periodic(
        name="users: pipeline sweep",
        task="users.pipeline_sweep",
        every_seconds=60,
        description="Resume profile runs whose rate-limit wait is over; recover lost steps.",
    ),
    Periodic(
        name="stargazers: dispatch due crawls",
        task="stargazers.stargazer_crawls_dispatch",
        every_seconds=60,
        description="Enqueue due star-graph rows (pending, past not_before) with no live "
        "message, and accounts whose starred sync was lost.",
    ),
    Periodic(
        name="stargazers: reset stale claims",
        task="stargazers.stargazer_claims_reset_stale",
        every_seconds=300,
        description="Release crawl claims without a heartbeat for STARGAZER_CLAIM_TTL_SECONDS.",
    ),
    Periodic(
        name="stargazers: refresh accounts",
        task="stargazers.accounts_stars_refresh",
        every_seconds=3600,
        description="Re-sync accounts' starred lists a day old (low queue, conditional).",
    ),
    Periodic(
        name="stargazers: refresh stale star signals",
        task="stargazers.star_signals_sweep",
        every_seconds=300,
        description="Recompute kindred and star-graph signals marked stale whose refresh "
        "message was lost.",
    ),
    Periodic(
        name="feed: resend lost rebuilds",
        task="feed.feed_rebuild_sweep",
        every_seconds=300,
        description="Re-send For You rebuild requests queued five minutes ago and not taken.",
    ),
]
