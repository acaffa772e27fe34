"""The page write: users, edges, cursor and heartbeat in one transaction, few statements."""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction

from stargazers.models import StargazerCrawl
from stargazers.services.common import (
    CRAWL_TABLE,
    DB_RETRIES,
    EDGE_TABLE,
    PAGE_SIZE,
    ClaimLost,
)
from stargazers.services.signals import star_signals_mark_stale
from users.models import GitHubUser

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------------ page writes
@lru_cache(maxsize=1)
def _user_insert_sql() -> str:
    """The page write: upsert users by github_id, then insert edges, one statement.

    Built from the model so new columns with defaults are filled in; every value is a
    parameter.
    """
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
            # A deadlock victim redoes its transaction at once (the other one has gone
            # on); past the bound the task's retry policy takes over.
            if attempt > DB_RETRIES or not _retryable(exc):
                raise
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
            # New stargazers of this repo: the accounts that starred it have new kindred.
            star_signals_mark_stale(repo_ids=[crawl.pk])


def _users_reconcile(arrays: dict) -> None:
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
