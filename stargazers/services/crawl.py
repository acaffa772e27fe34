"""One crawl task's work: claim, fetch pages from the cursor, store, finish or hand on."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from stargazers.models import StargazerCrawl
from stargazers.selectors.crawls import stargazers_paused
from stargazers.services.accounts import _account_token
from stargazers.services.common import (
    CRAWL_TABLE,
    MAX_TRANSIENT_ERRORS,
    PAGE_CAP,
    PROGRESS_EVERY_PAGES,
    ClaimLost,
    Status,
    queue_for,
)
from stargazers.services.pages import stargazer_page_store
from stargazers.tasks import stargazer_crawl as stargazer_crawl_task
from workers import retry
from workers.github import errors as gh_errors
from workers.github import github
from workers.retry import RetryLater

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- crawling
def stargazer_crawl_claim(*, repo_id: int, worker: str) -> StargazerCrawl | None:
    """Atomically claim the row when it is due (or its claim expired)."""
    ttl = settings.STARGAZER_CLAIM_TTL_SECONDS
    sql = f"""
        UPDATE {CRAWL_TABLE} SET status = 'processing', claimed_by = %(worker)s,
            claimed_at = now(), heartbeat_at = now(), started_at = COALESCE(started_at, now()),
            enqueued_at = NULL, updated_at = now()
        WHERE repo_id = %(repo)s AND (
            (status = 'pending' AND (not_before IS NULL OR not_before <= now()))
            OR (status IN ('rate_limited', 'restricted') AND not_before <= now())
            OR (status = 'processing' AND heartbeat_at < now() - %(ttl)s * interval '1 second'))
        RETURNING repo_id
    """  # noqa: S608 - identifiers from model metadata; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, {"worker": worker, "repo": repo_id, "ttl": ttl})
        won = cursor.fetchone()
    if not won:
        # The message is consumed either way; a due row gets a new one from the sweep.
        StargazerCrawl.objects.filter(pk=repo_id, status=Status.PENDING).update(enqueued_at=None)
        return None
    return StargazerCrawl.objects.select_related("repo").get(pk=repo_id)


def _finish(crawl: StargazerCrawl, worker: str, **fields: Any) -> bool:
    """Write the row's outcome and drop the claim, only while we still hold it."""
    fields.setdefault("claimed_by", "")
    fields.setdefault("claimed_at", None)
    fields["updated_at"] = timezone.now()
    return bool(
        StargazerCrawl.objects.filter(
            pk=crawl.pk, claimed_by=worker, status=Status.PROCESSING
        ).update(**fields)
    )


def stargazer_crawl_release(
    *, repo_id: int, worker: str | None = None, worker_suffix: str | None = None, error: str = ""
) -> int:
    """Give a claimed row back as pending (worker stop, time limit, task failure)."""
    qs = StargazerCrawl.objects.filter(pk=repo_id, status=Status.PROCESSING)
    if worker:
        qs = qs.filter(claimed_by=worker)
    elif worker_suffix:
        qs = qs.filter(claimed_by__endswith=worker_suffix)
    else:
        return 0
    fields: dict[str, Any] = {
        "status": Status.PENDING,
        "claimed_by": "",
        "claimed_at": None,
        "enqueued_at": None,
        "updated_at": timezone.now(),
    }
    if error:
        fields["error"] = error[:2000]
    return qs.update(**fields)


def stargazer_crawls_release_worker(*, hostname: str) -> list[int]:
    """Give back every crawl a worker (`name@host`, all its pool processes) holds.

    A stopping worker's repos are pending again at once instead of waiting out the
    claim TTL. Pages already written stay; a
    page being fetched is dropped (its write finds the claim gone) and read again by
    whoever claims the repo next, from the stored cursor.
    """
    if not hostname:
        return []
    released = list(
        StargazerCrawl.objects.filter(
            status=Status.PROCESSING, claimed_by__startswith=f"{hostname}:"
        ).values_list("pk", flat=True)
    )
    if not released:
        return []
    StargazerCrawl.objects.filter(
        pk__in=released, status=Status.PROCESSING, claimed_by__startswith=f"{hostname}:"
    ).update(
        status=Status.PENDING,
        claimed_by="",
        claimed_at=None,
        enqueued_at=None,
        updated_at=timezone.now(),
    )
    return released


def stargazer_crawl_run(*, repo_id: int, worker: str, max_pages: int | None = None) -> str:
    """Claim the repo and fetch up to `max_pages` pages; returns the outcome.

    Outcomes: paused, not_claimed, gone, continued, completed, pagination_limited,
    restricted, rate_limited, retry, failed, claim_lost.
    """
    if stargazers_paused():
        StargazerCrawl.objects.filter(pk=repo_id).update(enqueued_at=None)
        return "paused"
    crawl = stargazer_crawl_claim(repo_id=repo_id, worker=worker)
    if crawl is None:
        return "not_claimed"
    log = {"repo_id": repo_id, "repo": crawl.repo.full_name, "worker": worker}
    try:
        return _pages_fetch(
            crawl, worker, max_pages=max_pages or settings.STARGAZER_PAGES_PER_TASK, log=log
        )
    except (ClaimLost, OperationalError, gh_errors.GitHubError) as exc:
        return _fetch_error_settle(crawl, worker, exc, log=log)


def _pages_fetch(crawl: StargazerCrawl, worker: str, *, max_pages: int, log: dict) -> str:
    """Fetch and store pages from the row's cursor until the repo ends, the task's share
    of pages is done, or an operator pauses; errors go up to the caller."""
    token = _account_token(crawl.account_id)
    gw = github()
    url: str | None = crawl.next_page_url or None
    etag: str | None = None
    if not url and crawl.last_page_url:
        # A refresh of a finished repo: re-read its last stored page onward, conditionally.
        url, etag = crawl.last_page_url, crawl.last_page_etag or None
    fetched = 0
    while True:
        if fetched >= max_pages:
            return _continue(crawl, worker)
        if fetched and stargazers_paused():
            stargazer_crawl_release(repo_id=crawl.pk, worker=worker)
            return "paused"
        try:
            page = gw.stargazers_page(
                crawl.repo.full_name,
                url=url,
                etag=etag,
                token=token,
                expected_stars=crawl.repo_stars if url is None else None,
            )
        except gh_errors.BadCredentials:
            if token is None:
                raise
            # The account revoked its token: the server pool serves its work now.
            logger.warning("stargazers.account_token_refused", extra=log)
            token = None
            continue
        fetched += 1
        if page.not_modified:
            if page.next_url:
                url, etag = page.next_url, None
                continue
            _finish(crawl, worker, status=Status.COMPLETED, completed_at=timezone.now(), error="")
            logger.info("stargazers.unchanged", extra=log)
            return "completed"
        stored = stargazer_page_store(crawl=crawl, worker=worker, page=page)
        if page.page_number % PROGRESS_EVERY_PAGES == 0:
            logger.info(
                "stargazers.progress", extra={**log, "page": page.page_number, "stored": stored}
            )
        if not page.next_url:
            limited = page.page_number >= PAGE_CAP and crawl.repo_stars > stored
            return _complete(crawl, worker, stored=stored, limited=limited)
        url, etag = page.next_url, None


def _fetch_error_settle(crawl: StargazerCrawl, worker: str, exc: Exception, *, log: dict) -> str:
    """Write what an error means for the row (wait, retry, restricted, failed) and return
    the outcome; a short secondary limit raises RetryLater for the task to retry."""
    if isinstance(exc, ClaimLost):
        logger.warning("stargazers.claim_lost", extra=log)
        return "claim_lost"
    if isinstance(exc, gh_errors.PaginationLimit):
        stored = (
            StargazerCrawl.objects.filter(pk=crawl.pk)
            .values_list("stargazers_stored", flat=True)
            .first()
        )
        return _complete(crawl, worker, stored=stored or 0, limited=True)
    if isinstance(exc, gh_errors.StargazersRestricted):
        _finish(
            crawl,
            worker,
            status=Status.RESTRICTED,
            error=str(exc)[:2000],
            not_before=timezone.now()
            + timedelta(seconds=settings.STARGAZER_RESTRICTED_RECHECK_SECONDS),
            notes="stargazers not listable with this token",
        )
        logger.info("stargazers.restricted", extra={**log, "error": str(exc)})
        return "restricted"
    if isinstance(exc, gh_errors.RateLimited):
        # Never sleep: the row waits for the reset and the sweep brings it back.
        _finish(crawl, worker, status=Status.RATE_LIMITED, not_before=exc.reset_at, error=str(exc))
        logger.info("stargazers.rate_limited", extra={**log, "reset_at": exc.reset_at.isoformat()})
        return "rate_limited"
    if isinstance(exc, gh_errors.SecondaryRateLimited):
        return _secondary_limited(crawl, worker, exc, log=log)
    if isinstance(exc, gh_errors.Transient):
        return _transient(crawl, worker, str(exc))
    if isinstance(exc, OperationalError):
        return _transient(crawl, worker, f"database: {exc}")
    _finish(
        crawl,
        worker,
        status=Status.FAILED,
        error=str(exc)[:2000],
        error_count=crawl.error_count + 1,
    )
    logger.warning("stargazers.failed", extra={**log, "error": str(exc)})
    return "failed"


def _secondary_limited(
    crawl: StargazerCrawl, worker: str, exc: gh_errors.SecondaryRateLimited, *, log: dict
) -> str:
    countdown = retry.short_wait(exc)
    if countdown is not None:
        # Short: the row waits a moment and this task retries it itself.
        _finish(
            crawl,
            worker,
            status=Status.PENDING,
            not_before=timezone.now() + timedelta(seconds=countdown),
            enqueued_at=timezone.now(),
            error=str(exc),
        )
        logger.info("stargazers.secondary_limited", extra={**log, "retry_in": countdown})
        raise RetryLater(countdown + 1) from exc
    _finish(
        crawl,
        worker,
        status=Status.RATE_LIMITED,
        not_before=retry.wait_until(exc),
        error=str(exc),
    )
    return "rate_limited"


def _transient(crawl: StargazerCrawl, worker: str, message: str) -> str:
    """Back off through the row (not a Celery countdown): pending with a not_before."""
    count = crawl.error_count + 1
    if count >= MAX_TRANSIENT_ERRORS:
        _finish(crawl, worker, status=Status.FAILED, error=message[:2000], error_count=count)
        logger.warning("stargazers.failed", extra={"repo_id": crawl.pk, "error": message})
        return "failed"
    delay = retry.backoff(count)
    _finish(
        crawl,
        worker,
        status=Status.PENDING,
        error=message[:2000],
        error_count=count,
        not_before=timezone.now() + timedelta(seconds=delay),
        enqueued_at=None,
    )
    logger.info("stargazers.transient_error", extra={"repo_id": crawl.pk, "error": message})
    return "retry"


def _continue(crawl: StargazerCrawl, worker: str) -> str:
    """Hand the rest of the repo to a fresh task (no task runs for hours)."""
    with transaction.atomic():
        if not _finish(crawl, worker, status=Status.PENDING, enqueued_at=timezone.now()):
            return "claim_lost"
        transaction.on_commit(
            lambda: stargazer_crawl_task.apply_async(
                args=[crawl.pk], queue=queue_for(crawl.priority)
            )
        )
    return "continued"


def _complete(crawl: StargazerCrawl, worker: str, *, stored: int, limited: bool) -> str:
    now = timezone.now()
    if limited:
        _finish(
            crawl,
            worker,
            status=Status.PAGINATION_LIMITED,
            completed_at=now,
            stargazers_total=stored,
            notes="too many stargazers",
            error="",
            next_page_url="",
        )
        logger.info("stargazers.pagination_limited", extra={"repo_id": crawl.pk, "stored": stored})
        return "pagination_limited"
    _finish(
        crawl,
        worker,
        status=Status.COMPLETED,
        completed_at=now,
        stargazers_total=stored,
        error="",
        error_count=0,
        next_page_url="",
    )
    logger.info("stargazers.completed", extra={"repo_id": crawl.pk, "stored": stored})
    return "completed"
