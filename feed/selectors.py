"""Reads of the feed: candidates, the viewer's profile, and the ranked page.

The page is ranked in SQL from the viewer's stored entries (at most `FEED_KEEP`), so a
request costs the same whether there are a hundred candidates or a hundred thousand.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from feed.models import CandidateCount, FeedEntry, FeedExposure, FeedRebuild
from repos.models import GalleryImage, Repo, UserRepo
from users.models import GitHubUser

ENTRY = FeedEntry._meta.db_table
EXPOSURE = FeedExposure._meta.db_table
REPO = Repo._meta.db_table
LINK = UserRepo._meta.db_table
USER = GitHubUser._meta.db_table
GALLERY = GalleryImage._meta.db_table
REBUILD = FeedRebuild._meta.db_table
COUNT = CandidateCount._meta.db_table

# Entries ranked beyond the page, in case some lost their highlight since the last build.
PAGE_SLACK = 20

_CANDIDATE_FIELDS = {
    "repo_id": "repo_id",
    "author_id": "user_id",
    "author_login": "user__login",
    "rank": "highlight_rank",
    "owner": "repo__owner_login",
    "name": "repo__name",
    "language": "repo__language",
    "keywords": "repo__keywords",
    "emphasis": "repo__emphasis",
    "kind": "repo__kind",
    "description": "repo__description",
    "blurb": "repo__blurb",
    "pushed_at": "repo__pushed_at",
    "updated_at": "repo__github_updated_at",
    "full_name": "repo__full_name",
}


def candidates_list(*, viewer: GitHubUser) -> list[dict[str, Any]]:
    """Every user's highlighted repos except the viewer's own (owned, case-insensitive,
    or on the viewer's own highlights), ghost authors included; one row per repo.

    A repo highlighted by several users is credited to its owner when the owner
    highlighted it, else to whoever ranked it highest.
    """
    own = UserRepo.objects.filter(user_id=viewer.pk, highlight_rank__isnull=False).values("repo_id")
    rows = (
        UserRepo.objects.filter(highlight_rank__isnull=False)
        .exclude(user_id=viewer.pk)
        .exclude(repo__owner_login__iexact=viewer.login)
        .exclude(repo_id__in=own)
        .values(*_CANDIDATE_FIELDS.values())
    )
    best: dict[int, dict[str, Any]] = {}
    for raw in rows:
        row = {key: raw[src] for key, src in _CANDIDATE_FIELDS.items()}
        row["pushed_at"] = row["pushed_at"] or row.pop("updated_at")
        row.pop("updated_at", None)
        key = (
            (row["author_login"] or "").lower() != (row["owner"] or "").lower(),
            row["rank"],
            row["author_id"],
        )
        current = best.get(row["repo_id"])
        if current is None or key < current["_key"]:
            row["_key"] = key
            best[row["repo_id"]] = row
    for row in best.values():
        row.pop("_key")
    return list(best.values())


def candidates_count() -> int:
    """Highlighted links of all users (what "the candidate set grew" compares), as the
    links table's triggers keep it (exact, in the writer's transaction)."""
    row = CandidateCount.objects.filter(pk=1).values_list("n", flat=True).first()
    return row or 0


def viewer_profile_repos(*, viewer: GitHubUser) -> list[dict[str, Any]]:
    """The viewer's highlighted repos (all linked repos when none is highlighted yet)."""
    fields = ("repo__full_name", "repo__description", "repo__blurb", "repo__language")
    more = ("repo__keywords", "repo__emphasis", "repo__kind", "highlight_rank")
    links = UserRepo.objects.filter(user_id=viewer.pk)
    highlighted = links.filter(highlight_rank__isnull=False).order_by("highlight_rank")
    rows = list(highlighted.values(*fields, *more))
    if not rows:
        rows = list(links.order_by("repo__full_name").values(*fields, *more))
    return [{key.removeprefix("repo__"): value for key, value in row.items()} for row in rows]


# ------------------------------------------------------------------------ the page
def _fatigue_params(now: datetime) -> dict[str, Any]:
    return {
        "now": now,
        "shown": settings.FEED_FATIGUE_SHOWN_HOURS,
        "recent": settings.FEED_FATIGUE_RECENT_HOURS,
        "decay": settings.FEED_FATIGUE_DECAY_HOURS,
        "per_point": settings.FEED_FATIGUE_HOURS_PER_POINT,
    }


# Seed 000's fatigue in hours: 18 × times shown + 24 × e^(-hours since shown / 24), with
# "never shown" as no penalty. exp() is clamped: Postgres raises on float underflow.
#
# Fatigue only lowers an item and a never-shown item has none, so the best entries by
# (tier, score less fatigue) are among the best `limit + slack` never-shown entries by
# (tier, score) — read off feed_entry_rank_idx, stopping there — together with every
# entry the viewer was shown (their exposure rows, fatigue applied): exact, without
# ranking all of the viewer's entries on every GET.
_PAGE_CTE = f"""
    fresh AS (
        SELECT e.repo_id, e.author_id, e.reasons, e.include, e.tier, e.score AS ranked
        FROM {ENTRY} e
        WHERE e.viewer_id = %(viewer)s
          AND NOT EXISTS (
              SELECT 1 FROM {EXPOSURE} x WHERE x.viewer_id = e.viewer_id AND x.repo_id = e.repo_id
          )
        ORDER BY e.tier, e.score DESC, e.repo_id
        LIMIT %(limit)s + %(slack)s
    ),
    shown AS (
        SELECT e.repo_id, e.author_id, e.reasons, e.include, e.tier,
               e.score - (
                   %(shown)s::float8 * coalesce(x.times_shown, 0)
                   + CASE WHEN x.last_shown_at IS NULL THEN 0
                     ELSE %(recent)s::float8 * exp(greatest(
                       -700, -extract(epoch FROM (%(now)s - x.last_shown_at))::float8
                             / 3600.0 / %(decay)s::float8
                     )) END
               ) / %(per_point)s::float8 AS ranked
        FROM {EXPOSURE} x
        JOIN {ENTRY} e ON e.viewer_id = x.viewer_id AND e.repo_id = x.repo_id
        WHERE x.viewer_id = %(viewer)s
    ),
    ranked AS (
        SELECT * FROM fresh UNION ALL SELECT * FROM shown
        ORDER BY tier, ranked DESC, repo_id
        LIMIT %(limit)s + %(slack)s
    ),
    -- Still highlighted by its author: a cleared highlight leaves the page at once (a
    -- deleted author's entries are deleted with them). Checked on the best few only, one
    -- index probe each; the rebuild a changed candidate set queues drops such entries.
    page AS (
        SELECT k.*, l.include_reason, l.commit_days FROM ranked k
        CROSS JOIN LATERAL (
            SELECT l.include_reason, l.commit_days FROM {LINK} l
            WHERE l.user_id = k.author_id AND l.repo_id = k.repo_id
              AND l.highlight_rank IS NOT NULL
            LIMIT 1
        ) l
        ORDER BY k.tier, k.ranked DESC, k.repo_id
        LIMIT %(limit)s
    )
"""  # noqa: S608 - identifiers from model metadata; values are parameters

# The exposures are counters the ranking reads, not records anyone is owed: with
# FEED_EXPOSURE_ASYNC_COMMIT the page's own transaction does not wait for its WAL flush
# (a Postgres crash may lose the last fraction of a second of bumps, never consistency).
# Only when the statement is its own transaction: `set_config(..., true)` would else
# reach the caller's.
_QUIET_CTE = """,
    quiet AS (SELECT set_config('synchronous_commit', 'off', true))
"""

_BUMP_CTE = f""",
    bump AS (
        INSERT INTO {EXPOSURE} AS x (viewer_id, repo_id, times_shown, last_shown_at)
        SELECT %(viewer)s, repo_id, 1, %(now)s FROM page {{quiet}}
        ON CONFLICT (viewer_id, repo_id) DO UPDATE
            SET times_shown = x.times_shown + 1, last_shown_at = EXCLUDED.last_shown_at
    )
"""  # noqa: S608 - identifiers from model metadata; values are parameters

_SELECT = f"""
    SELECT p.ranked, p.reasons::text, p.include, u.login, u.state,
           r.full_name, r.owner_login, r.name, r.description, r.language, r.stargazers_count,
           r.is_fork, r.is_archived, r.topics::text, r.homepage, r.pushed_at,
           r.github_updated_at, p.include_reason, p.commit_days, r.blurb, r.emphasis::text,
           r.keywords::text, r.kind, r.link, r.enriched_at,
           (SELECT coalesce(json_agg(json_build_object(
                'url', g.url, 'alt', g.alt, 'original_url', g.original_url, 'title', g.title,
                'caption', g.caption, 'is_highlight', g.is_highlight, 'taken_at', g.taken_at
              ) ORDER BY g.id), '[]'::json)::text
            FROM {GALLERY} g WHERE g.repo_id = r.id) AS gallery
    FROM page p
    JOIN {REPO} r ON r.id = p.repo_id
    JOIN {USER} u ON u.id = p.author_id
    ORDER BY p.tier, p.ranked DESC, p.repo_id
"""  # noqa: S608 - identifiers from model metadata; values are parameters


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _item(row: tuple) -> dict[str, Any]:
    """One feed item: every field /data shows for a repo, plus author, flag, score, reasons."""
    (
        ranked, reasons, include, login, state, full_name, owner, name, description,
        language, stars, fork, archived, topics, homepage, pushed_at, updated_at,
        include_reason, commit_days, blurb, emphasis, keywords, kind, link, enriched_at,
        gallery,
    ) = row  # fmt: skip
    return {
        "id": full_name,
        "full_name": full_name,
        "owner": owner,
        "name": name,
        "description": description,
        "language": language or None,
        "stargazers_count": stars,
        "fork": fork,
        "archived": archived,
        "topics": json.loads(topics),
        "homepage": homepage or None,
        "pushed_at": _iso(pushed_at),
        "updated_at": _iso(updated_at),
        "include_reason": include_reason,
        "user_commit_days": commit_days,
        "generated_description": blurb,
        "blurb": blurb,
        "emphasis": json.loads(emphasis),
        "keywords": json.loads(keywords),
        "kind": kind,
        "link": link or None,
        "gallery": json.loads(gallery),
        "enriched_at": _iso(enriched_at),
        "username": login,
        "is_ghost": state == GitHubUser.State.GHOST,
        "score": round(float(ranked), 6),
        "reasons": json.loads(reasons),
        "judged": include,
    }


def page_sql(*, record: bool) -> str:
    """The page statement; with `record`, the exposure upsert in the same statement."""
    if not record:
        return "WITH " + _PAGE_CTE + _SELECT
    quiet = settings.FEED_EXPOSURE_ASYNC_COMMIT and not connection.in_atomic_block
    bump = _BUMP_CTE.format(quiet="CROSS JOIN quiet" if quiet else "")
    return "WITH " + _PAGE_CTE + (_QUIET_CTE if quiet else "") + bump + _SELECT


def page_fetch(*, viewer: GitHubUser, limit: int, record: bool, now: datetime | None = None):
    """The ranked page in one statement; with `record`, the same statement records every
    served item's exposure (times_shown + 1, last_shown_at = now)."""
    params = {
        **_fatigue_params(now or timezone.now()),
        "viewer": viewer.pk,
        "limit": limit,
        "slack": PAGE_SLACK,
    }
    sql = page_sql(record=record)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [_item(row) for row in cursor.fetchall()]


def feed_state(*, viewer: GitHubUser) -> dict[str, Any]:
    """In one query: whether the viewer has entries, the rebuild row's numbers, and the
    current candidate count (the auto-rebuild's input)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT EXISTS (SELECT 1 FROM {ENTRY} WHERE viewer_id = %(v)s),
                   coalesce((SELECT n FROM {COUNT} WHERE id = 1), 0),
                   b.candidates_seen, b.queued_at, b.status
            FROM (SELECT 1) one LEFT JOIN {REBUILD} b ON b.viewer_id = %(v)s
            """,  # noqa: S608 - identifiers from model metadata; values are parameters
            {"v": viewer.pk},
        )
        has_entries, count, seen, queued_at, status = cursor.fetchone()
    return {
        "has_entries": has_entries,
        "candidates": count,
        "candidates_seen": seen,
        "queued": queued_at is not None,
        "status": status,
    }


def rebuild_row(*, viewer: GitHubUser) -> dict[str, Any]:
    row = FeedRebuild.objects.filter(viewer_id=viewer.pk).first()
    if row is None:
        return {
            "username": viewer.login,
            "status": FeedRebuild.Status.IDLE,
            "queued": False,
            "queued_at": None,
            "started_at": None,
            "finished_at": None,
            "builds": 0,
            "stats": {},
            "error": None,
        }
    return {
        "username": viewer.login,
        "status": row.status,
        "queued": row.queued_at is not None,
        "queued_at": _iso(row.queued_at),
        "started_at": _iso(row.started_at),
        "finished_at": _iso(row.finished_at),
        "builds": row.builds,
        "stats": row.stats,
        "error": row.error or None,
    }
