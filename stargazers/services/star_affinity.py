"""Per-account star affinity (what the star graph tells the feed), precomputed when stars
change.

Aggregating a million edges per request is what made `/kindred` take seconds. Instead,
one statement computes an account's kindred developers and what the closest of them
starred, and stores it in `AccountStarAffinity`. Writers of edges mark the rows they
affect stale (the account's own sync; a stargazer page of a repo the account starred);
a marked row is refreshed by a task, at most one queued per account (the mark flips a
NULL `stale_at`, and only that flip enqueues). Readers never wait for a refresh: a row
is served as stored, and computed in the request only when it does not exist yet.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from repos.models import Repo
from stargazers.models import AccountStarAffinity, StarEdge
from stargazers.selectors.kindred import kindred_get, star_affinity_features
from stargazers.tasks import star_affinity_refresh as star_affinity_refresh_task
from users.models import GitHubUser

logger = logging.getLogger(__name__)

AFFINITY_TABLE = AccountStarAffinity._meta.db_table
EDGE_TABLE = StarEdge._meta.db_table


def _compute_sql() -> str:
    repo_table = Repo._meta.db_table
    user_table = GitHubUser._meta.db_table
    return f"""
    WITH mine AS (
        SELECT repo_id FROM {EDGE_TABLE} WHERE user_id = %(user)s
    ), kin AS (
        SELECT e.user_id, count(*) AS common
        FROM {EDGE_TABLE} e JOIN mine m ON m.repo_id = e.repo_id
        WHERE e.user_id <> %(user)s
        GROUP BY e.user_id
        ORDER BY common DESC, e.user_id
        LIMIT %(keep)s
    ), ranked AS (
        SELECT user_id, common, row_number() OVER (ORDER BY common DESC, user_id) AS rn
        FROM kin
    ), reached AS (
        SELECT e.repo_id,
               coalesce(sum(k.common) FILTER (WHERE k.rn <= %(top)s), 0) AS weight,
               count(*) AS hits
        FROM {EDGE_TABLE} e JOIN ranked k ON k.user_id = e.user_id
        GROUP BY e.repo_id
    ), repos AS (
        SELECT x.repo_id, x.weight, lower(r.owner_login) AS owner,
               x.hits / sqrt(greatest(r.stargazers_count, x.hits, 1)) AS overlap
        FROM reached x JOIN {repo_table} r ON r.id = x.repo_id
        ORDER BY x.weight DESC, overlap DESC, x.repo_id
        LIMIT %(repos_keep)s
    ), owners AS (
        SELECT owner, sum(weight) AS weight FROM repos WHERE weight > 0 GROUP BY owner
    )
    INSERT INTO {AFFINITY_TABLE} AS s
        (user_id, kindred, repos, owners, top_weight, starred_count, computed_at, stale_at)
    SELECT %(user)s,
        coalesce((SELECT json_agg(json_build_array(user_id, common) ORDER BY rn)
                  FROM ranked), '[]'::json)::jsonb,
        coalesce((SELECT json_object_agg(
                      repo_id, json_build_array(weight, round(overlap::numeric, 6)))
                  FROM repos), '{{}}'::json)::jsonb,
        coalesce((SELECT json_object_agg(owner, weight) FROM owners), '{{}}'::json)::jsonb,
        coalesce((SELECT sum(common) FROM ranked WHERE rn <= %(top)s), 0),
        (SELECT count(*) FROM mine),
        now(), NULL
    WHERE EXISTS (SELECT 1 FROM {user_table} WHERE id = %(user)s)
    ON CONFLICT (user_id) DO UPDATE SET
        kindred = EXCLUDED.kindred, repos = EXCLUDED.repos, owners = EXCLUDED.owners,
        top_weight = EXCLUDED.top_weight, starred_count = EXCLUDED.starred_count,
        computed_at = EXCLUDED.computed_at
    RETURNING s.kindred::text, s.repos::text, s.owners::text, s.top_weight, s.starred_count,
              s.computed_at, s.stale_at
    """  # noqa: S608 - identifiers from model metadata; values are parameters


def star_affinity_compute(*, user_id: int) -> AccountStarAffinity | None:
    """Compute and store one account's star affinity in one statement; None if the user
    is gone."""
    params = {
        "user": user_id,
        "keep": settings.STAR_SIGNALS_KINDRED_KEEP,
        "top": settings.STAR_SIGNALS_KINDRED_TOP,
        "repos_keep": settings.STAR_SIGNALS_REPOS_KEEP,
    }
    with connection.cursor() as cursor:
        cursor.execute(_compute_sql(), params)
        row = cursor.fetchone()
    if row is None:  # no such user
        return None
    kindred, repos, owners, top_weight, starred, computed_at, stale_at = row
    return AccountStarAffinity(
        user_id=user_id,
        kindred=json.loads(kindred),
        repos=json.loads(repos),
        owners=json.loads(owners),
        top_weight=top_weight,
        starred_count=starred,
        computed_at=computed_at,
        stale_at=stale_at,
    )


def star_affinity_current(
    *, user_id: int, fields: tuple[str, ...] | None = None
) -> AccountStarAffinity:
    """The stored star affinity (possibly stale, a refresh is on its way), computed now if
    none. `fields` loads only those columns of a stored row (the repo map is large)."""
    rows = AccountStarAffinity.objects.filter(pk=user_id, computed_at__isnull=False)
    row = (rows.only(*fields) if fields else rows).first()
    if row is not None:
        return row
    return star_affinity_compute(user_id=user_id) or AccountStarAffinity(user_id=user_id)


def star_affinity_get_or_compute(*, user_id: int) -> dict[str, Any]:
    """The ranking features of the account's star affinity (the feed ranks with them),
    from the stored row, computed and stored first when the account has none."""
    return star_affinity_features(star_affinity_current(user_id=user_id))


def kindred_get_or_compute(*, login: str, limit: int) -> dict[str, Any]:
    """The user's kindred as stored (possibly stale: a refresh is on its way); a user
    with no computed row yet gets one computed and stored first."""
    found = kindred_get(login=login, limit=limit)
    if found["computed_at"] is None and star_affinity_compute(user_id=found["user_id"]):
        found = kindred_get(login=login, limit=limit)
    del found["user_id"]  # the answer names users by login
    return found


def star_affinity_mark_stale(
    *, user_ids: list[int] | None = None, repo_ids: list[int] | None = None
) -> list[int]:
    """Mark stale the rows of these users and of every account that starred these repos;
    on commit, enqueue one refresh per row that was not stale yet. Returns those ids."""
    user_ids = list(user_ids or [])
    repo_ids = list(repo_ids or [])
    if not user_ids and not repo_ids:
        return []
    with connection.cursor() as cursor:
        if user_ids:
            # The account itself: create its row (not computed yet) if it has none.
            cursor.execute(
                f"""
                INSERT INTO {AFFINITY_TABLE} AS s
                    (user_id, kindred, repos, owners, top_weight, starred_count, stale_at)
                SELECT u, '[]', '{{}}', '{{}}', 0, 0, now() FROM unnest(%s::bigint[]) AS u
                ON CONFLICT (user_id) DO UPDATE SET stale_at = now() WHERE s.stale_at IS NULL
                RETURNING s.user_id
                """,  # noqa: S608 - identifiers from model metadata; values are parameters
                [user_ids],
            )
            flipped = [row[0] for row in cursor.fetchall()]
        else:
            flipped = []
        if repo_ids:
            cursor.execute(
                f"""
                UPDATE {AFFINITY_TABLE} s SET stale_at = now()
                WHERE s.stale_at IS NULL AND EXISTS (
                    SELECT 1 FROM {EDGE_TABLE} e
                    WHERE e.user_id = s.user_id AND e.repo_id = ANY(%s::bigint[])
                )
                RETURNING s.user_id
                """,  # noqa: S608 - identifiers from model metadata; values are parameters
                [repo_ids],
            )
            flipped += [row[0] for row in cursor.fetchall()]
    if flipped:
        transaction.on_commit(lambda ids=tuple(flipped): _refresh_enqueue(ids))
    return flipped


def _refresh_enqueue(user_ids) -> None:
    for user_id in user_ids:
        star_affinity_refresh_task.delay(user_id)


def star_affinity_refresh(*, user_id: int) -> bool:
    """Clear the mark first (a change during the computation marks it again), then compute."""
    # During a crawl every page marks its accounts stale: recompute at most once per
    # interval; a row left marked is picked up by the sweep.
    recent = timezone.now() - timedelta(seconds=settings.STAR_SIGNALS_MIN_INTERVAL_SECONDS)
    cleared = (
        AccountStarAffinity.objects.filter(pk=user_id, stale_at__isnull=False)
        .exclude(computed_at__gt=recent)
        .update(stale_at=None)
    )
    if not cleared:
        return False  # a duplicate delivery, already refreshed, or refreshed just now
    star_affinity_compute(user_id=user_id)
    logger.info("stargazers.star_affinity_refreshed", extra={"user_id": user_id})
    return True


def star_affinity_sweep(*, older_than_seconds: int = 60) -> int:
    """Enqueue refreshes of rows marked a while ago and due again (their message was lost,
    or their last computation was too recent to run at once)."""
    now = timezone.now()
    due = now - timedelta(seconds=settings.STAR_SIGNALS_MIN_INTERVAL_SECONDS)
    ids = list(
        AccountStarAffinity.objects.filter(stale_at__lt=now - timedelta(seconds=older_than_seconds))
        .filter(Q(computed_at__isnull=True) | Q(computed_at__lte=due))
        .values_list("user_id", flat=True)
    )
    if ids:
        _refresh_enqueue(ids)
    return len(ids)
