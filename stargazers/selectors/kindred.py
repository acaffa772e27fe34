"""What the stored star affinity says: a user's kindred, and the feed's ranking features.

Both read `AccountStarAffinity` rows as stored; a row that was never computed reads as
empty here (`services.kindred_get_or_compute` and `services.star_affinity_get_or_compute`
compute it first).
"""

from __future__ import annotations

import json
from typing import Any

from django.db import connection

from stargazers.models import AccountStarAffinity
from users import selectors as user_selectors
from users.errors import UserNotFound
from users.models import GitHubUser


def kindred_get(*, login: str, limit: int) -> dict[str, Any]:
    """Users with the most starred repos in common, from both feeds, as stored.

    One indexed statement at any graph size. Any user the star graph knows counts,
    stargazers seen only as such included; `computed_at` is None when the user has no
    computed row yet. UserNotFound for no such user.
    """
    user_selectors.username_validate(login=login)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT v.id, v.login, s.starred_count, s.computed_at,
                   coalesce((
                       SELECT json_agg(json_build_object(
                           'login', u.login, 'state', u.state, 'avatar_url', u.avatar_url,
                           'common_repos', k.common
                       ) ORDER BY k.common DESC, u.login COLLATE "C")
                       FROM (
                           SELECT (p ->> 0)::bigint AS uid, (p ->> 1)::int AS common
                           FROM jsonb_array_elements(s.kindred) WITH ORDINALITY AS t(p, ord)
                           WHERE ord <= %(limit)s
                       ) k
                       JOIN {GitHubUser._meta.db_table} u ON u.id = k.uid
                   ), '[]')::text
            FROM {GitHubUser._meta.db_table} v
            LEFT JOIN {AccountStarAffinity._meta.db_table} s
                ON s.user_id = v.id AND s.computed_at IS NOT NULL
            WHERE lower(v.login) = lower(%(login)s)
            LIMIT 1
            """,  # noqa: S608 - identifiers from model metadata; values are parameters
            {"login": login, "limit": limit},
        )
        row = cursor.fetchone()
    if row is None:
        raise UserNotFound.for_login(login)
    user_id, found_login, starred_count, computed_at, found = row
    return {
        "user_id": user_id,
        "login": found_login,
        "starred_repos": starred_count or 0,
        "computed_at": computed_at,
        "kindred": json.loads(found),
    }


def star_affinity_features(row: AccountStarAffinity) -> dict[str, Any]:
    """The ranking features of one account's star affinity, each normalised to 0..1.

    `repo_kindred` {repo_id: share of the closest kindred's weight that starred it},
    `repo_overlap` {repo_id: kindred stargazers / sqrt(stargazers), over the maximum},
    `owner_kindred` {lower(owner): the closest kindred's stars of the owner's repos, over
    the maximum}, `kindred` {user_id: common repos}.
    """
    total = row.top_weight or 0
    repo_kindred: dict[int, float] = {}
    repo_overlap: dict[int, float] = {}
    max_overlap = max((float(v[1]) for v in row.repos.values()), default=0.0)
    for key, (weight, overlap) in row.repos.items():
        repo_id = int(key)
        if total and weight:
            repo_kindred[repo_id] = min(1.0, float(weight) / total)
        if max_overlap and overlap:
            repo_overlap[repo_id] = float(overlap) / max_overlap
    max_owner = max((float(v) for v in row.owners.values()), default=0.0)
    owner_kindred = (
        {owner: float(w) / max_owner for owner, w in row.owners.items() if w} if max_owner else {}
    )
    return {
        "repo_kindred": repo_kindred,
        "repo_overlap": repo_overlap,
        "owner_kindred": owner_kindred,
        "kindred": {int(uid): int(common) for uid, common in row.kindred},
        "computed_at": row.computed_at,
    }
