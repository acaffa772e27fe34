"""The star graph engine: writes and workflows (seed 002 in Celery terms).

Work lives in `StargazerCrawl` rows, one per repo; the queue is only transport. A task
claims its row with a conditional UPDATE, fetches up to `STARGAZER_PAGES_PER_TASK` pages
from the stored cursor, writes each page (users, edges, cursor, heartbeat) in one
transaction and hands the rest to a fresh task. Beat sweeps re-enqueue due rows that
have no live message and release stale claims, so a lost message or a killed worker
costs time, never data.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from stargazers import errors
from stargazers.models import StarEdge, StargazerCrawl, StarHistoryDay
from workers import queues

logger = logging.getLogger(__name__)

PAGE_SIZE = 100  # GitHub's maximum per_page; the stored count is derived from it
PAGE_CAP = 400  # GitHub lists at most 400 pages of stargazers (40,000)
PAUSE_NAME = "stargazers"  # the QueuePause row that pauses star-graph work
MAX_TRANSIENT_ERRORS = 5  # transient failures of one repo before it ends `failed`
SECONDARY_RETRY_MAX_SECONDS = 300  # longer secondary waits become a `not_before`
DB_RETRIES = 3  # deadlocks / serialization failures (seed 002 retried 3 times)
PROGRESS_EVERY_PAGES = 10  # seed 002 logged progress every 10 pages

Status = StargazerCrawl.Status
Priority = StargazerCrawl.Priority
CRAWL_TABLE = StargazerCrawl._meta.db_table
EDGE_TABLE = StarEdge._meta.db_table


class ClaimLost(Exception):
    """Our claim was taken away (stale reset or a forced reprocess): stop quietly."""


class RetryLater(Exception):
    """The task should retry itself after `countdown` seconds (secondary rate limit)."""

    def __init__(self, countdown: float):
        self.countdown = countdown
        super().__init__(f"retry in {countdown:.0f}s")


def queue_for(priority: int) -> str:
    """High priority rows travel on the high queue, everything else on low."""
    return queues.HIGH if priority == Priority.HIGH else queues.LOW


# --------------------------------------------------------------------------- pausing
def stargazers_paused() -> bool:
    from workers.models import QueuePause

    return QueuePause.objects.filter(queue=PAUSE_NAME).exists()


def stargazers_pause(*, reason: str = "") -> bool:
    """Persistently pause star-graph work. Returns False when it was already paused."""
    from workers.models import QueuePause

    _, created = QueuePause.objects.get_or_create(
        queue=PAUSE_NAME, defaults={"reason": reason[:200]}
    )
    logger.info("stargazers.paused", extra={"reason": reason, "was_paused": not created})
    return created


def stargazers_resume() -> int:
    """Lift the pause and enqueue due work at once. Returns the rows enqueued."""
    from workers.models import QueuePause

    QueuePause.objects.filter(queue=PAUSE_NAME).delete()
    enqueued = stargazer_crawls_dispatch()
    logger.info("stargazers.resumed", extra={"enqueued": enqueued})
    return enqueued


# ------------------------------------------------------------------- account syncs
def account_stars_sync_request(*, user_id: int, is_new: bool) -> None:
    """Enqueue the account's starred sync once the caller's transaction commits.

    New accounts go to the high queue, refreshes of existing ones to the low queue.
    """
    from stargazers.tasks import account_stars_sync as account_stars_sync_task

    queue = queues.HIGH if is_new else queues.LOW
    transaction.on_commit(
        lambda: account_stars_sync_task.apply_async(args=[user_id, is_new], queue=queue)
    )


def _account_token(account_id: int | None) -> str | None:
    """The account's own token when it gave one (its budget serves its work)."""
    if not account_id:
        return None
    from users.models import GitHubUser
    from users.tokens import token_decrypt

    encrypted = (
        GitHubUser.objects.filter(pk=account_id).values_list("token_encrypted", flat=True).first()
    )
    return token_decrypt(encrypted or "")


def _dt(value: Any) -> datetime | None:
    if not value:
        return None
    return parse_datetime(value) if isinstance(value, str) else value


def _repo_fields(payload: dict) -> dict:
    owner = (payload.get("owner") or {}).get("login") or payload["full_name"].split("/")[0]
    return {
        "github_id": payload["id"],
        "full_name": payload["full_name"],
        "owner_login": owner,
        "name": payload.get("name") or payload["full_name"].split("/")[-1],
        "description": payload.get("description") or "",
        "language": payload.get("language") or "",
        "topics": payload.get("topics") or [],
        "homepage": (payload.get("homepage") or "")[:500],
        "default_branch": payload.get("default_branch") or "",
        "stargazers_count": payload.get("stargazers_count") or 0,
        "forks_count": payload.get("forks_count") or 0,
        "is_fork": bool(payload.get("fork")),
        "is_archived": bool(payload.get("archived")),
        "is_private": bool(payload.get("private")),
        "github_created_at": _dt(payload.get("created_at")),
        "github_updated_at": _dt(payload.get("updated_at")),
        "pushed_at": _dt(payload.get("pushed_at")),
    }


REPO_UPDATE_FIELDS = [
    "full_name",
    "owner_login",
    "name",
    "description",
    "language",
    "topics",
    "homepage",
    "default_branch",
    "stargazers_count",
    "forks_count",
    "is_fork",
    "is_archived",
    "is_private",
    "github_created_at",
    "github_updated_at",
    "pushed_at",
    "updated_at",
]


def repos_upsert(*, payloads: list[dict]) -> dict[int, tuple[int, int]]:
    """Upsert repos from GitHub payloads by github_id: {github_id: (repo id, stars)}."""
    from repos.models import Repo

    by_gid = {p["id"]: _repo_fields(p) for p in payloads if p.get("id") and p.get("full_name")}
    if not by_gid:
        return {}
    rows = [Repo(**fields) for fields in sorted(by_gid.values(), key=lambda f: f["github_id"])]
    try:
        with transaction.atomic():
            Repo.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["github_id"],
                update_fields=REPO_UPDATE_FIELDS,
            )
    except IntegrityError:
        # A row with the same name but no (or another) github_id: adopt or rename it.
        _repos_reconcile(names=[f["full_name"] for f in by_gid.values()], gids=list(by_gid))
        rows = [Repo(**fields) for fields in sorted(by_gid.values(), key=lambda f: f["github_id"])]
        with transaction.atomic():
            Repo.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["github_id"],
                update_fields=REPO_UPDATE_FIELDS,
            )
    return {r.github_id: (r.pk, r.stargazers_count) for r in rows}


def _repos_reconcile(*, names: list[str], gids: list[int]) -> None:
    from repos.models import Repo

    table = Repo._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} r SET github_id = x.gid
            FROM unnest(%s::text[], %s::bigint[]) AS x(name, gid)
            WHERE lower(r.full_name) = lower(x.name) AND r.github_id IS NULL
              AND NOT EXISTS (SELECT 1 FROM {table} o WHERE o.github_id = x.gid)
            """,  # noqa: S608 - identifiers from model metadata; values are parameters
            [names, gids],
        )
        # A name now held by another repo (renamed or recreated on GitHub): free it.
        cursor.execute(
            f"""
            UPDATE {table} r SET full_name = left(r.full_name, 110) || '~' || r.id
            FROM unnest(%s::text[], %s::bigint[]) AS x(name, gid)
            WHERE lower(r.full_name) = lower(x.name) AND r.github_id IS DISTINCT FROM x.gid
            """,  # noqa: S608 - identifiers from model metadata; values are parameters
            [names, gids],
        )


@dataclass
class SyncResult:
    pages: int
    starred: int
    repo_ids: list[int]


def account_stars_sync(*, user_id: int, is_new: bool) -> SyncResult | None:
    """Sync the account's starred list (star+json, paged) and create crawl rows.

    Each page commits its repos, starred edges and crawl rows; the final transaction
    drops edges the account no longer has, stamps `starred_synced_at` and, on commit,
    enqueues the account's crawls fewest stars first.
    """
    from users.models import GitHubUser
    from workers.github import errors as gh_errors
    from workers.github import github

    user = GitHubUser.objects.filter(pk=user_id).first()
    if user is None:
        logger.info("stargazers.sync_user_gone", extra={"user_id": user_id})
        return None
    token = _account_token(user.pk)
    priority = Priority.HIGH if is_new else Priority.LOW
    gw = github()
    url: str | None = None
    seen: list[int] = []
    pages = 0
    while True:
        try:
            page = gw.starred_page(user.login, url=url, token=token)
        except gh_errors.NotFound:
            # Gone from GitHub (or renamed): nothing to sync; stamp it so no sweep
            # keeps asking. The profile pipeline owns renames.
            logger.warning("stargazers.sync_user_not_on_github", extra={"login": user.login})
            GitHubUser.objects.filter(pk=user.pk).update(starred_synced_at=timezone.now())
            return None
        pages += 1
        payloads = [item["repo"] for item in page.items if item.get("repo")]
        starred_at = {
            item["repo"]["id"]: _dt(item.get("starred_at"))
            for item in page.items
            if item.get("repo")
        }
        with transaction.atomic():
            repos = repos_upsert(payloads=payloads)
            edges = [
                StarEdge(
                    repo_id=repo_id,
                    user_id=user.pk,
                    starred_at=starred_at.get(gid),
                    source=StarEdge.Source.STARRED,
                )
                for gid, (repo_id, _stars) in repos.items()
            ]
            StarEdge.objects.bulk_create(edges, ignore_conflicts=True)
            _crawls_upsert(
                repos=list(repos.values()),
                account_id=user.pk,
                has_token=bool(token),
                priority=priority,
                refresh=not is_new,
            )
        seen.extend(repo_id for repo_id, _ in repos.values())
        if not page.next_url:
            break
        url = page.next_url
    with transaction.atomic():
        StarEdge.objects.filter(user_id=user.pk, source=StarEdge.Source.STARRED).exclude(
            repo_id__in=seen
        ).delete()
        GitHubUser.objects.filter(pk=user.pk).update(
            starred_synced_at=timezone.now(), updated_at=timezone.now()
        )
        stargazer_crawls_dispatch(repo_ids=seen)
    logger.info(
        "stargazers.account_synced",
        extra={"user_id": user.pk, "login": user.login, "starred": len(seen), "pages": pages},
    )
    return SyncResult(pages=pages, starred=len(seen), repo_ids=seen)


def _crawls_upsert(
    *,
    repos: list[tuple[int, int]],
    account_id: int,
    has_token: bool,
    priority: int,
    refresh: bool,
) -> None:
    """Create or update the crawl rows of one account's starred repos in one statement.

    Sticky routing: the row keeps an account that gave a token; an account with a token
    takes over rows whose account has none, and re-opens rows that were `restricted`
    for someone else's token. A refresh re-opens completed and failed rows (completed
    ones are re-read from their last stored page, conditionally).
    """
    if not repos:
        return
    from users.models import GitHubUser

    users = GitHubUser._meta.db_table
    ids = [r for r, _ in repos]
    stars = [s for _, s in repos]
    sql = f"""
        INSERT INTO {CRAWL_TABLE} AS c (
            repo_id, status, priority, repo_stars, account_id, claimed_by, next_page_url,
            pages_fetched, last_page_url, last_page_etag, stargazers_stored, error,
            error_count, notes, created_at, updated_at)
        SELECT x.repo_id, 'pending', %(priority)s, x.stars, %(account)s, '', '', 0, '', '',
               0, '', 0, '', now(), now()
        FROM unnest(%(ids)s::bigint[], %(stars)s::int[]) AS x(repo_id, stars)
        ORDER BY x.repo_id
        ON CONFLICT (repo_id) DO UPDATE SET
            repo_stars = EXCLUDED.repo_stars,
            priority = CASE
                WHEN c.status IN ('pending', 'processing', 'rate_limited')
                    THEN LEAST(c.priority, EXCLUDED.priority)
                ELSE EXCLUDED.priority END,
            account_id = CASE
                WHEN %(has_token)s AND (c.account_id IS NULL OR NOT EXISTS (
                    SELECT 1 FROM {users} a WHERE a.id = c.account_id AND a.token_encrypted <> ''))
                    THEN EXCLUDED.account_id
                ELSE COALESCE(c.account_id, EXCLUDED.account_id) END,
            status = CASE
                WHEN c.status = 'restricted' AND %(has_token)s
                     AND c.account_id IS DISTINCT FROM EXCLUDED.account_id THEN 'pending'
                WHEN %(refresh)s AND c.status IN ('completed', 'failed') THEN 'pending'
                ELSE c.status END,
            not_before = CASE
                WHEN c.status = 'restricted' AND %(has_token)s
                     AND c.account_id IS DISTINCT FROM EXCLUDED.account_id THEN NULL
                WHEN %(refresh)s AND c.status IN ('completed', 'failed') THEN NULL
                ELSE c.not_before END,
            error_count = CASE
                WHEN %(refresh)s AND c.status = 'failed' THEN 0 ELSE c.error_count END,
            updated_at = now()
    """  # noqa: S608 - identifiers from model metadata; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "priority": priority,
                "account": account_id,
                "ids": ids,
                "stars": stars,
                "has_token": has_token,
                "refresh": refresh,
            },
        )


def accounts_sync_dispatch(*, grace_seconds: int = 300) -> int:
    """Beat: enqueue the starred sync of accounts whose sync was lost or never ran.

    An account (active user) is due when it never synced, or logged in after its last
    sync, and the login is older than `grace_seconds` (the on-commit path had its go).
    """
    from users.models import GitHubUser

    if stargazers_paused():
        return 0
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    due = (
        GitHubUser.objects.filter(state=GitHubUser.State.ACTIVE)
        .filter(models_q_unsynced())
        .filter(models_q_login_before(cutoff))
        .values_list("pk", "starred_synced_at")[:500]
    )
    from stargazers.tasks import account_stars_sync as account_stars_sync_task

    count = 0
    client = _redis()
    for user_id, synced_at in due:
        # At most one re-send per account per lease: a sync that keeps failing (the
        # user is gone from GitHub) is not retried every minute. A flushed Redis only
        # forgets the marker, which is the moment a re-send is wanted.
        if not client.set(f"stargazers:sync-sent:{user_id}", 1, nx=True, ex=_sync_lease()):
            continue
        is_new = synced_at is None
        account_stars_sync_task.apply_async(
            args=[user_id, is_new], queue=queues.HIGH if is_new else queues.LOW
        )
        count += 1
    if count:
        logger.info("stargazers.accounts_redispatched", extra={"count": count})
    return count


ACCOUNT_REFRESH_AFTER = timedelta(hours=24)


def accounts_stars_refresh_due(*, limit: int = 500) -> int:
    """Beat (hourly): re-sync accounts whose starred list is a day old (low queue).

    Seed 002 re-scanned existing accounts at start-up; here a steady trickle does it.
    Starred pages are conditional (ETags) and completed repos are re-read from their
    last page, so an unchanged account costs a few free 304s.
    """
    from users.models import GitHubUser

    if stargazers_paused():
        return 0
    from stargazers.tasks import account_stars_sync as account_stars_sync_task

    cutoff = timezone.now() - ACCOUNT_REFRESH_AFTER
    due = list(
        GitHubUser.objects.filter(state=GitHubUser.State.ACTIVE, starred_synced_at__lt=cutoff)
        .order_by("starred_synced_at")
        .values_list("pk", flat=True)[:limit]
    )
    client = _redis()
    sent = 0
    for user_id in due:
        if not client.set(f"stargazers:sync-sent:{user_id}", 1, nx=True, ex=_sync_lease()):
            continue
        account_stars_sync_task.apply_async(args=[user_id, False], queue=queues.LOW)
        sent += 1
    if sent:
        logger.info("stargazers.accounts_refresh", extra={"count": sent})
    return sent


def _redis():
    from workers.health import redis_client

    return redis_client(timeout=2.0)


def _sync_lease() -> int:
    return settings.STARGAZER_ENQUEUE_LEASE_SECONDS


def models_q_unsynced():
    from django.db.models import F, Q

    return Q(starred_synced_at__isnull=True) | Q(starred_synced_at__lt=F("last_login_at"))


def models_q_login_before(cutoff: datetime):
    from django.db.models import Q

    return Q(last_login_at__isnull=True, created_at__lt=cutoff) | Q(last_login_at__lt=cutoff)


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
        from workers.health import queue_depths

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
    from config.celery import app
    from stargazers.tasks import stargazer_crawl as stargazer_crawl_task

    with app.producer_or_acquire() as producer:
        for repo_id, priority, _stars in rows:
            stargazer_crawl_task.apply_async(
                args=[repo_id], queue=queue_for(priority), producer=producer
            )


def stargazer_claims_reset_stale(*, ttl_seconds: int | None = None) -> int:
    """Beat (every 5 min): release claims whose heartbeat is older than the TTL.

    Seed 002 flipped them to failed; here the cursor makes resuming safe, so they go
    back to pending (error noted, error_count + 1) and the dispatcher re-enqueues them.
    """
    ttl = ttl_seconds if ttl_seconds is not None else settings.STARGAZER_CLAIM_TTL_SECONDS
    cutoff = timezone.now() - timedelta(seconds=ttl)
    count = StargazerCrawl.objects.filter(status=Status.PROCESSING, heartbeat_at__lt=cutoff).update(
        status=Status.PENDING,
        claimed_by="",
        claimed_at=None,
        enqueued_at=None,
        error="Processing timeout - claim expired",
        error_count=models_f("error_count") + 1,
        updated_at=timezone.now(),
    )
    if count:
        logger.warning("stargazers.stale_claims_reset", extra={"count": count, "ttl": ttl})
    return count


def models_f(name: str):
    from django.db.models import F

    return F(name)


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


def stargazer_crawl_run(*, repo_id: int, worker: str, max_pages: int | None = None) -> str:
    """Claim the repo and fetch up to `max_pages` pages; returns the outcome.

    Outcomes: paused, not_claimed, gone, continued, completed, pagination_limited,
    restricted, rate_limited, retry, failed, claim_lost.
    """
    from workers.github import errors as gh_errors
    from workers.github import github

    if stargazers_paused():
        StargazerCrawl.objects.filter(pk=repo_id).update(enqueued_at=None)
        return "paused"
    crawl = stargazer_crawl_claim(repo_id=repo_id, worker=worker)
    if crawl is None:
        return "not_claimed"
    max_pages = max_pages or settings.STARGAZER_PAGES_PER_TASK
    full_name = crawl.repo.full_name
    token = _account_token(crawl.account_id)
    gw = github()
    url: str | None = crawl.next_page_url or None
    etag: str | None = None
    if not url and crawl.last_page_url:
        # A refresh of a finished repo: re-read its last stored page onward, conditionally.
        url, etag = crawl.last_page_url, crawl.last_page_etag or None
    fetched = 0
    log = {"repo_id": repo_id, "repo": full_name, "worker": worker}
    try:
        while True:
            if fetched >= max_pages:
                return _continue(crawl, worker)
            if fetched and stargazers_paused():
                stargazer_crawl_release(repo_id=repo_id, worker=worker)
                return "paused"
            page = gw.stargazers_page(
                full_name,
                url=url,
                etag=etag,
                token=token,
                expected_stars=crawl.repo_stars if url is None else None,
            )
            fetched += 1
            if page.not_modified:
                if page.next_url:
                    url, etag = page.next_url, None
                    continue
                _finish(
                    crawl, worker, status=Status.COMPLETED, completed_at=timezone.now(), error=""
                )
                logger.info("stargazers.unchanged", extra=log)
                return "completed"
            stored = stargazer_page_store(crawl=crawl, worker=worker, page=page)
            if page.page_number % PROGRESS_EVERY_PAGES == 0:
                logger.info(
                    "stargazers.progress",
                    extra={**log, "page": page.page_number, "stored": stored},
                )
            if not page.next_url:
                limited = page.page_number >= PAGE_CAP and crawl.repo_stars > stored
                return _complete(crawl, worker, stored=stored, limited=limited)
            url, etag = page.next_url, None
    except ClaimLost:
        logger.warning("stargazers.claim_lost", extra=log)
        return "claim_lost"
    except gh_errors.PaginationLimit:
        stored = (
            StargazerCrawl.objects.filter(pk=repo_id)
            .values_list("stargazers_stored", flat=True)
            .first()
        )
        return _complete(crawl, worker, stored=stored or 0, limited=True)
    except gh_errors.StargazersRestricted as exc:
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
    except gh_errors.RateLimited as exc:
        # Never sleep: the row waits for the reset and the sweep brings it back.
        _finish(crawl, worker, status=Status.RATE_LIMITED, not_before=exc.reset_at, error=str(exc))
        logger.info("stargazers.rate_limited", extra={**log, "reset_at": exc.reset_at.isoformat()})
        return "rate_limited"
    except gh_errors.SecondaryRateLimited as exc:
        wait = exc.retry_after + random.uniform(1, 5)  # noqa: S311 - jitter
        not_before = timezone.now() + timedelta(seconds=wait)
        if exc.retry_after <= SECONDARY_RETRY_MAX_SECONDS:
            _finish(
                crawl,
                worker,
                status=Status.PENDING,
                not_before=not_before,
                enqueued_at=timezone.now(),
                error=str(exc),
            )
            logger.info("stargazers.secondary_limited", extra={**log, "retry_in": wait})
            raise RetryLater(wait + 1) from exc
        _finish(crawl, worker, status=Status.RATE_LIMITED, not_before=not_before, error=str(exc))
        return "rate_limited"
    except gh_errors.Transient as exc:
        return _transient(crawl, worker, str(exc))
    except OperationalError as exc:
        return _transient(crawl, worker, f"database: {exc}")
    except gh_errors.GitHubError as exc:
        _finish(
            crawl,
            worker,
            status=Status.FAILED,
            error=str(exc)[:2000],
            error_count=crawl.error_count + 1,
        )
        logger.warning("stargazers.failed", extra={**log, "error": str(exc)})
        return "failed"


def _transient(crawl: StargazerCrawl, worker: str, message: str) -> str:
    """Back off through the row (not a Celery countdown): pending with a not_before."""
    count = crawl.error_count + 1
    if count >= MAX_TRANSIENT_ERRORS:
        _finish(crawl, worker, status=Status.FAILED, error=message[:2000], error_count=count)
        logger.warning("stargazers.failed", extra={"repo_id": crawl.pk, "error": message})
        return "failed"
    delay = min(600, 5 * 2**count) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter
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
    from stargazers.tasks import stargazer_crawl as stargazer_crawl_task

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


# ------------------------------------------------------------------------ page writes
@lru_cache(maxsize=1)
def _user_insert_sql() -> str:
    """The page write: upsert users by github_id, then insert edges, one statement.

    Built from the model so new columns with defaults are filled in; every value is a
    parameter.
    """
    from users.models import GitHubUser

    varying = {"login", "github_id", "avatar_url", "html_url"}
    columns, values = [], []
    for field in GitHubUser._meta.concrete_fields:
        if field.primary_key:
            continue
        column = field.column
        if field.name in varying:
            columns.append(column)
            values.append(f"x.{field.name}")
        elif field.name in ("created_at", "updated_at"):
            columns.append(column)
            values.append("now()")
        elif field.name == "state":
            columns.append(column)
            values.append("'discovered'")
        elif not field.null:
            default = field.get_default()
            columns.append(column)
            values.append(_sql_literal(default))
    users = GitHubUser._meta.db_table
    return f"""
        WITH x AS (
            SELECT * FROM unnest(%(gids)s::bigint[], %(logins)s::text[], %(avatars)s::text[],
                                 %(htmls)s::text[], %(starred)s::timestamptz[])
                AS x(github_id, login, avatar_url, html_url, starred_at)
        ), ids AS (
            INSERT INTO {users} AS u ({", ".join(columns)})
            SELECT {", ".join(values)} FROM x ORDER BY x.github_id
            ON CONFLICT (github_id) DO UPDATE SET login = EXCLUDED.login,
                avatar_url = EXCLUDED.avatar_url, html_url = EXCLUDED.html_url
            RETURNING u.id, u.github_id
        )
        INSERT INTO {EDGE_TABLE} (repo_id, user_id, starred_at, source, created_at)
        SELECT %(repo)s, ids.id, x.starred_at, 'stargazers', now()
        FROM ids JOIN x ON x.github_id = ids.github_id
        ON CONFLICT (repo_id, user_id) DO NOTHING
    """  # noqa: S608 - identifiers from model metadata; values are parameters


def _sql_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return "NULL"
    if isinstance(value, list | dict):
        import json

        return "'" + json.dumps(value).replace("'", "''") + "'::jsonb"
    return "'" + str(value).replace("'", "''") + "'"


def page_arrays(items: list[dict]) -> dict[str, list]:
    """A page's users as column arrays, one per github_id (sorted: stable lock order)."""
    by_gid: dict[int, tuple] = {}
    for item in items:
        user = item.get("user") or {}
        gid = user.get("id")
        login = user.get("login")
        if not gid or not login:
            continue
        by_gid[gid] = (
            login[:39],
            (user.get("avatar_url") or "")[:500],
            (user.get("html_url") or "")[:500],
            item.get("starred_at"),
        )
    gids = sorted(by_gid)
    return {
        "gids": gids,
        "logins": [by_gid[g][0] for g in gids],
        "avatars": [by_gid[g][1] for g in gids],
        "htmls": [by_gid[g][2] for g in gids],
        "starred": [by_gid[g][3] for g in gids],
    }


def stargazer_page_store(*, crawl: StargazerCrawl, worker: str, page: Any) -> int:
    """Write one page in one transaction: cursor + heartbeat (claim check), users, edges.

    Returns the stored count, derived from the page position (pages hold 100, oldest
    first), so resuming or re-reading a page never counts twice.
    """
    stored = (page.page_number - 1) * PAGE_SIZE + len(page.items)
    arrays = page_arrays(page.items)
    for attempt in range(1, DB_RETRIES + 2):
        try:
            with transaction.atomic():
                _page_write(crawl, worker, page, stored, arrays)
            return stored
        except IntegrityError:
            # A login held by a row without (or with another) github_id: adopt or free
            # it, then write the page again.
            _users_reconcile(arrays)
            if attempt > DB_RETRIES:
                raise
        except OperationalError as exc:
            if attempt > DB_RETRIES or not _retryable(exc):
                raise
            time.sleep(0.1 * attempt * random.uniform(1, 2))  # noqa: S311 - jitter
    return stored


def _retryable(exc: OperationalError) -> bool:
    code = getattr(getattr(exc, "__cause__", None), "sqlstate", None)
    return code in ("40P01", "40001")


def _page_write(crawl: StargazerCrawl, worker: str, page: Any, stored: int, arrays: dict) -> None:
    with connection.cursor() as cursor:
        # No fsync wait per page: if Postgres itself crashes, the last pages' commits may
        # be lost together with their cursor (one transaction), so they are fetched
        # again; nothing is half-written or skipped. Doubles the page rate on slow disks.
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(
            f"""
            UPDATE {CRAWL_TABLE} SET next_page_url = %s, last_page_url = %s,
                last_page_etag = %s, pages_fetched = pages_fetched + 1,
                stargazers_stored = %s, heartbeat_at = now(), updated_at = now()
            WHERE repo_id = %s AND claimed_by = %s AND status = 'processing'
            """,  # noqa: S608 - identifiers from model metadata; values are parameters
            [
                page.next_url or "",
                page.url,
                (page.etag or "")[:200],
                stored,
                crawl.pk,
                worker,
            ],
        )
        if cursor.rowcount != 1:
            raise ClaimLost()
        if arrays["gids"]:
            cursor.execute(_user_insert_sql(), {**arrays, "repo": crawl.pk})


def _users_reconcile(arrays: dict) -> None:
    from users.models import GitHubUser

    table = GitHubUser._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} u SET github_id = x.gid
            FROM unnest(%s::text[], %s::bigint[]) AS x(login, gid)
            WHERE lower(u.login) = lower(x.login) AND u.github_id IS NULL
              AND NOT EXISTS (SELECT 1 FROM {table} o WHERE o.github_id = x.gid)
            """,  # noqa: S608 - identifiers from model metadata; values are parameters
            [arrays["logins"], arrays["gids"]],
        )
        # GitHub gave the login to someone else: the old holder keeps a marked login.
        cursor.execute(
            f"""
            UPDATE {table} u SET login = left(u.login, 25) || '~' || u.id
            FROM unnest(%s::text[], %s::bigint[]) AS x(login, gid)
            WHERE lower(u.login) = lower(x.login) AND u.github_id IS DISTINCT FROM x.gid
            """,  # noqa: S608 - identifiers from model metadata; values are parameters
            [arrays["logins"], arrays["gids"]],
        )


# ----------------------------------------------------------------- operator actions
def repo_resolve(*, key: str):
    """A repo by `owner/name` (case-insensitive) or numeric GitHub id."""
    from repos.models import Repo

    key = (key or "").strip()
    if key.isdigit():
        repo = Repo.objects.filter(github_id=int(key)).first()
    elif key.count("/") == 1 and all(key.split("/")):
        repo = Repo.objects.filter(full_name__iexact=key).first()
    else:
        raise errors.InvalidRepoKey(details={"id": key})
    if repo is None:
        raise errors.RepoNotFound(f"Repository {key} not found", details={"id": key})
    return repo


REPROCESSABLE = (Status.FAILED, Status.COMPLETED, Status.PAGINATION_LIMITED, Status.RESTRICTED)


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
    """Forget a repo's crawl (seed 002 deleted the status row) and its stargazer edges.

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
    from users.models import GitHubUser

    user = GitHubUser.objects.filter(login__iexact=login).first()
    if user is None:
        raise errors.UserNotFound(f"User {login} not found", details={"login": login})
    repo_ids = list(StarEdge.objects.filter(user=user).values_list("repo_id", flat=True))
    with transaction.atomic():
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
    from repos.models import Repo
    from workers.github import github

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
    from stargazers.tasks import star_history_refresh as star_history_refresh_task

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
    from config.celery import app

    with app.connection_for_write() as conn:
        inspect = app.control.inspect(timeout=timeout, connection=conn, destination=destination)
        stats = inspect.stats() or {}
        if not stats:
            raise errors.ScaleRefused("No worker answered.", details={"destination": destination})
        results = []
        for hostname, info in sorted(stats.items()):
            pool = info.get("pool") or {}
            current = len(pool.get("processes") or []) or int(pool.get("max-concurrency") or 0)
            entry: dict[str, Any] = {"worker": hostname, "before": current}
            autoscaler = info.get("autoscaler")
            if autoscaler and (autoscale_max or autoscale_min or concurrency):
                high = autoscale_max or concurrency or autoscaler.get("max")
                low = autoscale_min if autoscale_min is not None else autoscaler.get("min", 0)
                low = min(low, high)
                app.control.autoscale(high, low, destination=[hostname], connection=conn)
                entry.update(mode="autoscale", max=high, min=low)
            else:
                target = concurrency if concurrency is not None else current + (delta or 0)
                target = max(1, target)
                change = target - current
                if change > 0:
                    app.control.pool_grow(change, destination=[hostname], connection=conn)
                elif change < 0:
                    app.control.pool_shrink(-change, destination=[hostname], connection=conn)
                entry.update(mode="pool", requested=target, change=change)
            results.append(entry)
    logger.info("stargazers.workers_scaled", extra={"results": results})
    return results


def queues_purge(*, names: list[str] | None = None) -> dict[str, int]:
    """Empty broker queues; returns messages removed per queue.

    Star-graph rows stay in the database: the next dispatch sweep re-sends due ones
    (pause first to stop work).
    """
    from config.celery import app

    names = list(names or queues.ALL)
    unknown = [n for n in names if n not in queues.ALL]
    if unknown:
        from config.errors import BadRequest

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
        qs = StargazerCrawl.objects.filter(status=status)
        ids = list(qs.values_list("pk", flat=True))
        count = qs.update(**_reset_fields(force=force, priority=Priority.LOW))
        stargazer_crawls_dispatch(repo_ids=ids)
    logger.info("stargazers.status_reprocess", extra={"status": status, "count": count})
    return count
