"""The page write: cursor and heartbeat, users (through the users app) and edges, in one
transaction."""

from __future__ import annotations

import logging
from typing import Any

from django.db import OperationalError, connection, transaction

from stargazers.models import StargazerCrawl
from stargazers.services.common import (
    CRAWL_TABLE,
    DB_RETRIES,
    EDGE_TABLE,
    PAGE_SIZE,
    ClaimLost,
)
from stargazers.services.star_affinity import star_affinity_mark_stale
from users.identity import SeenUser, users_upsert_seen

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------------ page writes
def page_users(items: list[dict]) -> tuple[list[SeenUser], dict[int, Any]]:
    """A page's stargazers, one per github_id, and when each starred the repo."""
    users: dict[int, SeenUser] = {}
    starred_at: dict[int, Any] = {}
    for item in items:
        user = item.get("user") or {}
        gid = user.get("id")
        login = user.get("login")
        if not gid or not login:
            continue
        users[gid] = SeenUser(
            github_id=gid,
            login=login,
            avatar_url=user.get("avatar_url") or "",
            html_url=user.get("html_url") or "",
        )
        starred_at[gid] = item.get("starred_at")
    return list(users.values()), starred_at


def stargazer_page_store(*, crawl: StargazerCrawl, worker: str, page: Any) -> int:
    """Write one page in one transaction: cursor + heartbeat (claim check), users, edges.

    Returns the stored count, derived from the page position (pages hold 100, oldest
    first), so resuming or re-reading a page never counts twice.
    """
    stored = (page.page_number - 1) * PAGE_SIZE + len(page.items)
    seen = page_users(page.items)
    for attempt in range(1, DB_RETRIES + 2):
        try:
            with transaction.atomic():
                _page_write(crawl, worker, page, stored, seen)
            return stored
        except OperationalError as exc:
            # A deadlock victim redoes its transaction at once (the other one has gone
            # on); past the bound the task's retry policy takes over.
            if attempt > DB_RETRIES or not _retryable(exc):
                raise
    return stored


def _retryable(exc: OperationalError) -> bool:
    code = getattr(getattr(exc, "__cause__", None), "sqlstate", None)
    return code in ("40P01", "40001")


def _page_write(
    crawl: StargazerCrawl,
    worker: str,
    page: Any,
    stored: int,
    seen: tuple[list[SeenUser], dict[int, Any]],
) -> None:
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
    users, starred_at = seen
    if not users:
        return
    # The users app writes the users; the edges point at the rows it returns.
    user_ids = users_upsert_seen(users=users)
    gids = sorted(user_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {EDGE_TABLE} (repo_id, user_id, starred_at, source, created_at)
            SELECT %s, x.user_id, x.starred_at, 'stargazers', now()
            FROM unnest(%s::bigint[], %s::timestamptz[]) AS x(user_id, starred_at)
            ON CONFLICT (repo_id, user_id) DO NOTHING
            """,  # noqa: S608 - identifiers from model metadata; values are parameters
            [crawl.pk, [user_ids[g] for g in gids], [starred_at[g] for g in gids]],
        )
    # New stargazers of this repo: the accounts that starred it have new kindred.
    star_affinity_mark_stale(repo_ids=[crawl.pk])
