"""Accounts' starred lists: the sync that feeds the graph and creates crawl rows."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from repos.services import repos_upsert_from_github
from stargazers.models import AccountStarredSync, StarEdge
from stargazers.selectors.crawls import stargazers_paused
from stargazers.services.common import (
    CRAWL_TABLE,
    Priority,
)
from stargazers.services.dispatch import stargazer_crawls_dispatch
from stargazers.services.star_affinity import star_affinity_mark_stale
from stargazers.tasks import account_stars_sync as account_stars_sync_task
from users.models import GitHubUser
from users.tokens import token_decrypt
from workers import queues
from workers.github import errors as gh_errors
from workers.github import github
from workers.redis_clients import redis_client
from workers.timestamps import timestamp_parse as _dt

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------- account syncs
def account_stars_sync_request(*, user_id: int, is_new: bool) -> None:
    """Enqueue the account's starred sync once the caller's transaction commits.

    New accounts go to the high queue, refreshes of existing ones to the low queue.
    """
    queue = queues.HIGH if is_new else queues.LOW
    transaction.on_commit(
        lambda: account_stars_sync_task.apply_async(args=[user_id, is_new], queue=queue)
    )


def account_stars_sync_defer(*, user_id: int, not_before: datetime) -> None:
    """A rate-limited sync waits on the account row (no countdown, no sleep); the
    account sweep sends it again once `not_before` has passed."""
    _sync_state_set(user_id=user_id, not_before=not_before)
    # The sweep's re-send lease is for lost messages; this one is known and due later.
    _redis().delete(_lease_key(user_id))
    logger.info(
        "stargazers.sync_rate_limited",
        extra={"user_id": user_id, "not_before": not_before.isoformat()},
    )


def _sync_state_set(*, user_id: int, **fields: datetime | None) -> None:
    """Write the account's starred-sync row (created on first use), one statement."""
    AccountStarredSync.objects.bulk_create(
        [AccountStarredSync(user_id=user_id, **fields)],
        update_conflicts=True,
        unique_fields=["user"],
        update_fields=list(fields),
    )


def _account_token(account_id: int | None) -> str | None:
    """The account's own token when it gave one (its budget serves its work)."""
    if not account_id:
        return None

    encrypted = (
        GitHubUser.objects.filter(pk=account_id).values_list("token_encrypted", flat=True).first()
    )
    return token_decrypt(encrypted or "")


def repos_upsert(*, payloads: list[dict]) -> dict[int, tuple[int, int]]:
    """Upsert repos from GitHub payloads (the repos app's upsert): {github_id: (id, stars)}."""
    payloads = [p for p in payloads if p.get("id") and p.get("full_name")]
    found = repos_upsert_from_github(payloads=payloads)
    out: dict[int, tuple[int, int]] = {}
    for payload in payloads:
        repo = found.get(payload["full_name"].lower())
        if repo is not None:
            out[payload["id"]] = (repo.pk, repo.stargazers_count)
    return out


@dataclass
class SyncResult:
    pages: int
    starred: int
    repo_ids: list[int]


def account_stars_sync(*, user_id: int, is_new: bool) -> SyncResult | None:
    """Sync the account's starred list (star+json, paged) and create crawl rows.

    Each page commits its repos, starred edges and crawl rows; the final transaction
    drops edges the account no longer has, stamps the sync's `synced_at` and, on commit,
    enqueues the account's crawls fewest stars first.
    """
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
            _sync_state_set(user_id=user.pk, synced_at=timezone.now())
            return None
        pages += 1
        seen.extend(
            _starred_page_store(
                user_id=user.pk,
                items=page.items,
                has_token=bool(token),
                priority=priority,
                refresh=not is_new,
            )
        )
        if not page.next_url:
            break
        url = page.next_url
    _starred_sync_finish(user_id=user.pk, seen=seen)
    logger.info(
        "stargazers.account_synced",
        extra={"user_id": user.pk, "login": user.login, "starred": len(seen), "pages": pages},
    )
    return SyncResult(pages=pages, starred=len(seen), repo_ids=seen)


def _starred_page_store(
    *, user_id: int, items: list[dict], has_token: bool, priority: int, refresh: bool
) -> list[int]:
    """One starred page in one transaction: its repos, the account's starred edges and the
    repos' crawl rows. Returns the repo ids."""
    payloads = [item["repo"] for item in items if item.get("repo")]
    starred_at = {
        item["repo"]["id"]: _dt(item.get("starred_at")) for item in items if item.get("repo")
    }
    with transaction.atomic():
        repos = repos_upsert(payloads=payloads)
        edges = [
            StarEdge(
                repo_id=repo_id,
                user_id=user_id,
                starred_at=starred_at.get(gid),
                source=StarEdge.Source.STARRED,
            )
            for gid, (repo_id, _stars) in repos.items()
        ]
        StarEdge.objects.bulk_create(edges, ignore_conflicts=True)
        _crawls_upsert(
            repos=list(repos.values()),
            account_id=user_id,
            has_token=has_token,
            priority=priority,
            refresh=refresh,
        )
    return [repo_id for repo_id, _ in repos.values()]


def _starred_sync_finish(*, user_id: int, seen: list[int]) -> None:
    """Drop the starred edges the list no longer has, stamp the sync, and (on commit)
    send the account's crawls; its star affinity and its neighbours' go stale."""
    with transaction.atomic():
        StarEdge.objects.filter(user_id=user_id, source=StarEdge.Source.STARRED).exclude(
            repo_id__in=seen
        ).delete()
        _sync_state_set(user_id=user_id, synced_at=timezone.now(), not_before=None)
        stargazer_crawls_dispatch(repo_ids=seen)
        # The account's neighbourhood and every account sharing these repos changed.
        star_affinity_mark_stale(user_ids=[user_id], repo_ids=seen)


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
    sync, and the login is older than `grace_seconds` (the on-commit path had its go);
    or when its rate-limited sync's `not_before` has passed.
    """
    if stargazers_paused():
        return 0
    now = timezone.now()
    cutoff = now - timedelta(seconds=grace_seconds)
    # Never synced, or logged in again since the last sync...
    lost = Q(starred_sync__synced_at__isnull=True) | Q(
        starred_sync__synced_at__lt=F("last_login_at")
    )
    # ...and the on-commit path had its chance.
    settled = Q(last_login_at__isnull=True, created_at__lt=cutoff) | Q(last_login_at__lt=cutoff)
    waited = Q(starred_sync__not_before__lte=now)
    due = (
        GitHubUser.objects.filter(state=GitHubUser.State.ACTIVE)
        .filter((lost & settled) | waited)
        .exclude(starred_sync__not_before__gt=now)
        .values_list("pk", "starred_sync__synced_at")[:500]
    )

    count = 0
    client = _redis()
    for user_id, synced_at in due:
        # At most one re-send per account per lease: a sync that keeps failing (the
        # user is gone from GitHub) is not retried every minute. A flushed Redis only
        # forgets the marker, which is the moment a re-send is wanted.
        if not client.set(_lease_key(user_id), 1, nx=True, ex=_sync_lease()):
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

    A steady trickle, never a re-scan of every account at once. Starred pages are
    conditional (ETags) and completed repos are re-read from their last page, so an
    unchanged account costs a few free 304s.
    """
    if stargazers_paused():
        return 0

    cutoff = timezone.now() - ACCOUNT_REFRESH_AFTER
    due = list(
        GitHubUser.objects.filter(state=GitHubUser.State.ACTIVE, starred_sync__synced_at__lt=cutoff)
        .exclude(starred_sync__not_before__gt=timezone.now())
        .order_by("starred_sync__synced_at")
        .values_list("pk", flat=True)[:limit]
    )
    client = _redis()
    sent = 0
    for user_id in due:
        if not client.set(_lease_key(user_id), 1, nx=True, ex=_sync_lease()):
            continue
        account_stars_sync_task.apply_async(args=[user_id, False], queue=queues.LOW)
        sent += 1
    if sent:
        logger.info("stargazers.accounts_refresh", extra={"count": sent})
    return sent


def _redis():
    return redis_client(settings.REDIS_URL, timeout=2.0)


def _lease_key(user_id: int) -> str:
    return f"stargazers:sync-sent:{user_id}"


def _sync_lease() -> int:
    return settings.STARGAZER_ENQUEUE_LEASE_SECONDS
