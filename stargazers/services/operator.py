"""Operator actions: pause and resume, reprocess, reset, star history, worker pools and
broker queues."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from config.celery import app
from config.errors import BadRequest
from repos.models import Repo
from stargazers import errors
from stargazers.models import StarEdge, StargazerCrawl, StarHistoryDay
from stargazers.selectors.crawls import PAUSE_NAME, repo_resolve
from stargazers.services.accounts import account_stars_sync_request
from stargazers.services.common import (
    Priority,
    Status,
)
from stargazers.services.dispatch import stargazer_crawls_dispatch
from stargazers.tasks import star_history_refresh as star_history_refresh_task
from users import selectors as user_selectors
from users.models import GitHubUser
from workers import queues
from workers.github import github
from workers.models import QueuePause

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------- operator actions
REPROCESSABLE = (Status.FAILED, Status.COMPLETED, Status.PAGINATION_LIMITED, Status.RESTRICTED)


def _crawls_lock(repo_ids: list[int]) -> list[int]:
    """Lock these crawl rows in repo id order (inside the caller's transaction).

    Every writer of several crawl rows takes their locks in this one order (the
    accounts' upsert inserts `ORDER BY repo_id`, the dispatch skips locked rows), so two
    of them wait for each other instead of deadlocking. A bare `UPDATE ... WHERE pk IN`
    locks in whatever order its scan meets the rows.
    """
    if not repo_ids:
        return []
    return list(
        StargazerCrawl.objects.filter(pk__in=repo_ids)
        .order_by("pk")
        .select_for_update()
        .values_list("pk", flat=True)
    )


def _reset_fields(*, force: bool, priority: int) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "status": Status.PENDING,
        "priority": priority,
        "claimed_by": "",
        "claimed_at": None,
        "not_before": None,
        "enqueued_at": None,
        "error": "",
        "notes": "Manually reprocessed via admin API",
        "updated_at": timezone.now(),
    }
    if force:
        # From the first page again; edges already stored are kept (inserts ignore them).
        fields.update(
            next_page_url="",
            last_page_url="",
            last_page_etag="",
            pages_fetched=0,
            stargazers_stored=0,
            stargazers_total=None,
            completed_at=None,
            error_count=0,
        )
    return fields


def crawl_reprocess(*, key: str, force: bool = False) -> StargazerCrawl:
    """Reset one repo's crawl to pending (from scratch with `force`) and enqueue it.

    Without force only finished rows (failed, completed, pagination_limited, restricted)
    are eligible; a completed one is re-read from its last page.
    """
    repo = repo_resolve(key=key)
    with transaction.atomic():
        crawl, created = StargazerCrawl.objects.get_or_create(
            repo=repo, defaults={"repo_stars": repo.stargazers_count}
        )
        qs = StargazerCrawl.objects.filter(pk=repo.pk)
        if not force and not created:
            qs = qs.filter(status__in=REPROCESSABLE)
        updated = qs.update(**_reset_fields(force=force, priority=Priority.HIGH))
        if not updated:
            raise errors.NotEligible(details={"id": key, "status": crawl.status})
        stargazer_crawls_dispatch(repo_ids=[repo.pk])
    logger.info("stargazers.reprocess", extra={"repo": repo.full_name, "force": force})
    return StargazerCrawl.objects.get(pk=repo.pk)


def crawl_reset(*, key: str) -> int:
    """Forget a repo's crawl (its row is deleted) and its stargazer edges.

    Edges from users' own starred lists stay; the repo is crawled again when an
    account's sync lists it or it is reprocessed.
    """
    repo = repo_resolve(key=key)
    with transaction.atomic():
        deleted, _ = StargazerCrawl.objects.filter(pk=repo.pk).delete()
        if not deleted:
            raise errors.CrawlNotFound(f"Repository {key} has no processing row")
        StarEdge.objects.filter(repo_id=repo.pk, source=StarEdge.Source.STARGAZERS).delete()
    logger.info("stargazers.reset", extra={"repo": repo.full_name})
    return deleted


def user_crawls_reprocess(*, login: str, force: bool = False) -> int:
    """Reset the crawls of every repo the user starred and enqueue them (low queue).

    Also re-syncs the user's starred list when it is an account.
    """
    user = user_selectors.user_get(login=login, discovered=True)
    repo_ids = list(StarEdge.objects.filter(user=user).values_list("repo_id", flat=True))
    with transaction.atomic():
        _crawls_lock(repo_ids)
        qs = StargazerCrawl.objects.filter(pk__in=repo_ids)
        if not force:
            qs = qs.filter(status__in=REPROCESSABLE)
        count = qs.update(**_reset_fields(force=force, priority=Priority.LOW))
        stargazer_crawls_dispatch(repo_ids=repo_ids)
        if user.state == GitHubUser.State.ACTIVE:
            account_stars_sync_request(user_id=user.pk, is_new=False)
    logger.info("stargazers.user_reprocess", extra={"login": user.login, "count": count})
    return count


# ---------------------------------------------------------------------- star history
def star_history_refresh(*, repo_id: int) -> int:
    """Fetch a repo's public daily star counts through the gateway and store them."""
    repo = Repo.objects.filter(pk=repo_id).first()
    if repo is None:
        return 0
    days = github().star_history(repo.full_name)
    rows = [
        StarHistoryDay(repo_id=repo.pk, day=d["date"], stars=int(d["count"]))
        for d in days
        if d.get("date")
    ]
    with transaction.atomic():
        StarHistoryDay.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["repo", "day"], update_fields=["stars"]
        )
    return len(rows)


def star_history_request(*, repo_id: int) -> None:
    transaction.on_commit(
        lambda: star_history_refresh_task.apply_async(args=[repo_id], queue=queues.DEFAULT)
    )


# ------------------------------------------------------------ workers and the broker
def workers_scale(
    *,
    concurrency: int | None = None,
    delta: int | None = None,
    autoscale_max: int | None = None,
    autoscale_min: int | None = None,
    destination: list[str] | None = None,
    timeout: float = 2.0,
) -> list[dict[str, Any]]:
    """Resize worker pools through Celery remote control.

    Workers running with `--autoscale` get a new range (`autoscale`); fixed pools grow
    or shrink (`pool_grow` / `pool_shrink`) to `concurrency` processes, or by `delta`.
    """
    with app.connection_for_write() as conn:
        inspect = app.control.inspect(timeout=timeout, connection=conn, destination=destination)
        resizable = _resizable_pools(inspect.stats() or {}, destination=destination)
        results = [
            _pool_resize(
                conn,
                hostname,
                info,
                concurrency=concurrency,
                delta=delta,
                autoscale_max=autoscale_max,
                autoscale_min=autoscale_min,
            )
            for hostname, info in sorted(resizable.items())
        ]
    logger.info("stargazers.workers_scaled", extra={"results": results})
    return results


def _resizable_pools(stats: dict[str, dict], *, destination: list[str] | None) -> dict[str, dict]:
    """The answering workers whose pool can resize; ScaleRefused when there are none."""
    if not stats:
        raise errors.ScaleRefused("No worker answered.", details={"destination": destination})
    # Only process pools resize; the LLM worker's thread pool is fixed at start.
    resizable = {
        hostname: info
        for hostname, info in stats.items()
        if "prefork" in ((info.get("pool") or {}).get("implementation") or "")
    }
    if not resizable:
        raise errors.ScaleRefused(
            "No worker with a resizable (prefork) pool answered.",
            details={"destination": destination, "fixed_pools": sorted(stats)},
        )
    return resizable


def _pool_resize(
    conn: Any,
    hostname: str,
    info: dict,
    *,
    concurrency: int | None,
    delta: int | None,
    autoscale_max: int | None,
    autoscale_min: int | None,
) -> dict[str, Any]:
    """Resize one worker's pool: a new autoscale range, or grow/shrink a fixed pool."""
    pool = info.get("pool") or {}
    current = len(pool.get("processes") or []) or int(pool.get("max-concurrency") or 0)
    entry: dict[str, Any] = {"worker": hostname, "before": current}
    autoscaler = info.get("autoscaler")
    if autoscaler and (autoscale_max or autoscale_min or concurrency):
        high = autoscale_max or concurrency or autoscaler.get("max")
        low = autoscale_min if autoscale_min is not None else autoscaler.get("min", 0)
        if low > high:
            # Never narrow the range silently: the operator meant something else.
            from config.errors import BadRequest

            raise BadRequest(
                f"min ({low}) must not exceed max ({high}) on {hostname}",
                code="invalid_input",
                details={"worker": hostname, "min": low, "max": high},
            )
        app.control.autoscale(high, low, destination=[hostname], connection=conn)
        entry.update(mode="autoscale", max=high, min=low)
        return entry
    target = max(1, concurrency if concurrency is not None else current + (delta or 0))
    change = target - current
    if change > 0:
        app.control.pool_grow(change, destination=[hostname], connection=conn)
    elif change < 0:
        app.control.pool_shrink(-change, destination=[hostname], connection=conn)
    entry.update(mode="pool", requested=target, change=change)
    return entry


def queues_purge(*, names: list[str] | None = None) -> dict[str, int]:
    """Empty broker queues; returns messages removed per queue.

    Star-graph rows stay in the database: the next dispatch sweep re-sends due ones
    (pause first to stop work).
    """
    names = list(names or queues.ALL)
    unknown = [n for n in names if n not in queues.ALL]
    if unknown:
        raise BadRequest(
            f"Unknown queue(s): {', '.join(unknown)}",
            code="unknown_queue",
            details={"known": list(queues.ALL)},
        )
    removed: dict[str, int] = {}
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for name in names:
            removed[name] = int(channel.queue_purge(name) or 0)
    StargazerCrawl.objects.filter(status=Status.PENDING, enqueued_at__isnull=False).update(
        enqueued_at=None
    )
    logger.warning("stargazers.queues_purged", extra={"removed": removed})
    return removed


def crawls_reprocess_by_status(*, status: str, force: bool = False) -> int:
    """Reset every row with `status` to pending and enqueue them (operator command)."""
    with transaction.atomic():
        ids = _crawls_lock(
            list(StargazerCrawl.objects.filter(status=status).values_list("pk", flat=True))
        )
        qs = StargazerCrawl.objects.filter(pk__in=ids, status=status)
        count = qs.update(**_reset_fields(force=force, priority=Priority.LOW))
        stargazer_crawls_dispatch(repo_ids=ids)
    logger.info("stargazers.status_reprocess", extra={"status": status, "count": count})
    return count


# --------------------------------------------------------------------------- pausing
def stargazers_pause(*, reason: str = "") -> bool:
    """Persistently pause star-graph work. Returns False when it was already paused."""
    _, created = QueuePause.objects.get_or_create(
        queue=PAUSE_NAME, defaults={"reason": reason[:200]}
    )
    logger.info("stargazers.paused", extra={"reason": reason, "was_paused": not created})
    return created


def stargazers_resume() -> int:
    """Lift the pause and enqueue due work at once. Returns the rows enqueued."""
    QueuePause.objects.filter(queue=PAUSE_NAME).delete()
    enqueued = stargazer_crawls_dispatch()
    logger.info("stargazers.resumed", extra={"enqueued": enqueued})
    return enqueued
