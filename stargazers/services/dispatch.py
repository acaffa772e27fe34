"""Sending due crawl rows to the queues, and the sweeps that keep the database in charge."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from config.celery import app
from stargazers.models import StargazerCrawl
from stargazers.selectors.crawls import stargazers_paused
from stargazers.services.common import (
    CRAWL_TABLE,
    Priority,
    Status,
    queue_for,
)
from stargazers.tasks import stargazer_crawl as stargazer_crawl_task
from workers import queues
from workers.health import queue_depths

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------- dispatching
def stargazer_crawls_dispatch(
    *, repo_ids: list[int] | None = None, limit: int = 5000, lease_seconds: int | None = None
) -> int:
    """Enqueue due crawl rows that have no live message; returns how many.

    Due: `pending` (past any `not_before`), or `rate_limited`/`restricted` whose
    `not_before` passed. A row enqueued within the lease is presumed to have a message
    waiting, unless its queue is empty (Redis flushed or purged: the message is gone).
    Rows are enqueued by priority then fewest stars first, on commit.
    """
    if stargazers_paused():
        return 0
    lease = lease_seconds if lease_seconds is not None else settings.STARGAZER_ENQUEUE_LEASE_SECONDS
    empty_priorities = _priorities_with_empty_queue()
    params: dict[str, Any] = {
        "lease_cutoff": timezone.now() - timedelta(seconds=lease),
        "empty": empty_priorities,
        "limit": limit,
    }
    scope = ""
    if repo_ids is not None:
        if not repo_ids:
            return 0
        scope = "AND repo_id = ANY(%(ids)s::bigint[])"
        params["ids"] = list(repo_ids)
    sql = f"""
        UPDATE {CRAWL_TABLE} SET enqueued_at = now()
        WHERE repo_id IN (
            SELECT repo_id FROM {CRAWL_TABLE}
            WHERE ((status = 'pending' AND (not_before IS NULL OR not_before <= now()))
                OR (status IN ('rate_limited', 'restricted') AND not_before <= now()))
              AND (enqueued_at IS NULL OR enqueued_at < %(lease_cutoff)s
                   OR priority = ANY(%(empty)s::int[]))
              {scope}
            ORDER BY priority, repo_stars, repo_id
            LIMIT %(limit)s
            FOR UPDATE SKIP LOCKED)
        RETURNING repo_id, priority, repo_stars
    """  # noqa: S608 - identifiers from model metadata; values are parameters
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = sorted(cursor.fetchall(), key=lambda r: (r[1], r[2], r[0]))
        if rows:
            transaction.on_commit(lambda: _send_crawls(rows))
    if rows:
        logger.info("stargazers.dispatched", extra={"count": len(rows)})
    return len(rows)


def _priorities_with_empty_queue() -> list[int]:
    try:
        depths = queue_depths()
    except Exception:
        logger.warning("stargazers.queue_depth_unavailable", exc_info=True)
        return []
    out = []
    if depths.get(queues.HIGH, 1) == 0:
        out.append(int(Priority.HIGH))
    if depths.get(queues.LOW, 1) == 0:
        out.append(int(Priority.LOW))
    return out


def _send_crawls(rows: list[tuple[int, int, int]]) -> None:
    with app.producer_or_acquire() as producer:
        for repo_id, priority, _stars in rows:
            stargazer_crawl_task.apply_async(
                args=[repo_id], queue=queue_for(priority), producer=producer
            )


def stargazer_claims_reset_stale(*, ttl_seconds: int | None = None) -> int:
    """Beat (every 5 min): release claims whose heartbeat is older than the TTL.

    The cursor makes resuming safe, so they are not failed: they go back to pending
    (error noted, error_count + 1) and the dispatcher re-enqueues them.
    """
    ttl = ttl_seconds if ttl_seconds is not None else settings.STARGAZER_CLAIM_TTL_SECONDS
    cutoff = timezone.now() - timedelta(seconds=ttl)
    count = StargazerCrawl.objects.filter(status=Status.PROCESSING, heartbeat_at__lt=cutoff).update(
        status=Status.PENDING,
        claimed_by="",
        claimed_at=None,
        enqueued_at=None,
        error="Processing timeout - claim expired",
        error_count=F("error_count") + 1,
        updated_at=timezone.now(),
    )
    if count:
        logger.warning("stargazers.stale_claims_reset", extra={"count": count, "ttl": ttl})
    return count
