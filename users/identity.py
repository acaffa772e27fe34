"""Writes that decide who a users row is: the one place a login or a github_id is given.

The rules, for every writer of the users table (sign-in, the profile step, the star
graph's stargazer pages):

- A login names one row, whatever its case (`lower(login)` is unique).
- A github_id names one row; the first row to hold it keeps it.
- A row known by login only (no github_id yet) is adopted by the github_id GitHub gives
  for that login, unless another row already holds that id.
- When GitHub gives a login to another github_id (the old holder renamed or left), the
  old holder keeps a marked login (`<first 25 chars>~<row id>`), so the login is free
  for its new owner and the old row's data stays until a profile refresh renames it.

A module of its own, not `users.services`: the profile step (users.pipeline) writes a
github_id too, and `users.services` imports the pipeline.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from users.models import GitHubUser

logger = logging.getLogger(__name__)

USERS_TABLE = GitHubUser._meta.db_table
LOGIN_MAX = 39  # GitHub's longest login
UPSERT_ATTEMPTS = 3  # a login freed by one attempt may be taken again by a concurrent page


# --------------------------------------------------------------------- by login
def user_upsert_by_login(*, login: str, state: str) -> tuple[GitHubUser, bool]:
    """The row of `login` (any case), created with `state` when new: (user, inserted).

    INSERT … ON CONFLICT on lower(login): concurrent callers get one row, then hold its
    lock until their transaction ends (so the state read after it is stable).
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {USERS_TABLE} (
                login, state, name, avatar_url, html_url, bio, company, location, blog,
                theme, token_encrypted, created_at, updated_at
            ) VALUES (%s, %s, '', '', '', '', '', '', '', '', '', %s, %s)
            ON CONFLICT (lower(login)) DO UPDATE SET updated_at = EXCLUDED.updated_at
            RETURNING id, (xmax = 0) AS inserted
            """,  # noqa: S608 - identifiers from model metadata; values are parameters
            [login, state, now, now],
        )
        user_id, inserted = cursor.fetchone()
    return GitHubUser.objects.get(id=user_id), bool(inserted)


# ----------------------------------------------------------------- by github_id
def user_github_id_claim(*, user_id: int, github_id: int) -> bool:
    """Give the row its github_id unless another row holds it (the first keeps it).

    Called with the user row locked (the profile step); True when the id is the row's.
    """
    if GitHubUser.objects.filter(github_id=github_id).exclude(id=user_id).exists():
        return False
    GitHubUser.objects.filter(id=user_id).update(github_id=github_id)
    return True


@dataclass(frozen=True)
class SeenUser:
    """A user as GitHub lists it beside something else (a stargazer of a repo)."""

    github_id: int
    login: str
    avatar_url: str = ""
    html_url: str = ""


def users_upsert_seen(*, users: list[SeenUser]) -> dict[int, int]:
    """Upsert users GitHub listed by github_id, new ones `discovered`: {github_id: row id}.

    One statement in the common case: rows are matched by github_id and take GitHub's
    current login and avatar. When a login is held by a row with no or another github_id
    (the unique login index refuses the insert), the login is adopted or freed by the
    rules above and the statement runs again. Runs inside the caller's transaction (a
    savepoint per attempt), so the caller's page and these users commit together.
    """
    by_gid: dict[int, SeenUser] = {}
    for user in users:
        if user.github_id and user.login:
            by_gid[user.github_id] = user
    if not by_gid:
        return {}
    gids = sorted(by_gid)  # one lock order for every writer: no deadlock between pages
    params = {
        "gids": gids,
        "logins": [by_gid[g].login[:LOGIN_MAX] for g in gids],
        "avatars": [(by_gid[g].avatar_url or "")[:500] for g in gids],
        "htmls": [(by_gid[g].html_url or "")[:500] for g in gids],
    }
    for attempt in range(1, UPSERT_ATTEMPTS + 1):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(_seen_upsert_sql(), params)
                return {github_id: user_id for user_id, github_id in cursor.fetchall()}
        except IntegrityError:
            if attempt == UPSERT_ATTEMPTS:
                raise
            logins_reconcile(logins=params["logins"], github_ids=gids)
    return {}  # not reached: the last attempt returns or raises


def logins_reconcile(*, logins: list[str], github_ids: list[int]) -> int:
    """Make each login free for its github_id: adopt a row known by login only, else
    mark the login of the row that holds it for another id. Returns the rows renamed."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {USERS_TABLE} u SET github_id = x.gid
            FROM unnest(%s::text[], %s::bigint[]) AS x(login, gid)
            WHERE lower(u.login) = lower(x.login) AND u.github_id IS NULL
              AND NOT EXISTS (SELECT 1 FROM {USERS_TABLE} o WHERE o.github_id = x.gid)
            """,  # noqa: S608 - identifiers from model metadata; values are parameters
            [logins, github_ids],
        )
        cursor.execute(
            f"""
            UPDATE {USERS_TABLE} u SET login = left(u.login, 25) || '~' || u.id
            FROM unnest(%s::text[], %s::bigint[]) AS x(login, gid)
            WHERE lower(u.login) = lower(x.login) AND u.github_id IS DISTINCT FROM x.gid
            """,  # noqa: S608 - identifiers from model metadata; values are parameters
            [logins, github_ids],
        )
        renamed = cursor.rowcount
    if renamed:
        logger.info("users.logins_freed", extra={"renamed": renamed})
    return renamed


@lru_cache(maxsize=1)
def _seen_upsert_sql() -> str:
    """Built from the model so columns added later with defaults are filled in; every
    value is a parameter."""
    varying = {"login", "github_id", "avatar_url", "html_url"}
    columns, values = [], []
    for field in GitHubUser._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.name in varying:
            columns.append(field.column)
            values.append(f"x.{field.name}")
        elif field.name in ("created_at", "updated_at"):
            columns.append(field.column)
            values.append("now()")
        elif field.name == "state":
            columns.append(field.column)
            values.append(f"'{GitHubUser.State.DISCOVERED.value}'")
        elif not field.null:
            columns.append(field.column)
            values.append(_sql_literal(field.get_default()))
    return f"""
        WITH x AS (
            SELECT * FROM unnest(%(gids)s::bigint[], %(logins)s::text[], %(avatars)s::text[],
                                 %(htmls)s::text[])
                AS x(github_id, login, avatar_url, html_url)
        )
        INSERT INTO {USERS_TABLE} AS u ({", ".join(columns)})
        SELECT {", ".join(values)} FROM x ORDER BY x.github_id
        ON CONFLICT (github_id) DO UPDATE SET login = EXCLUDED.login,
            avatar_url = EXCLUDED.avatar_url, html_url = EXCLUDED.html_url
        RETURNING u.id, u.github_id
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
