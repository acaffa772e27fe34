"""The For You page as one SQL statement: its reading part, the `Page` it returns, and
how it runs (a prepared statement on a server-side-binding cursor).

The page is ranked in SQL from the viewer's stored entries (at most `FEED_KEEP`), so a
request costs the same whether there are a hundred candidates or a hundred thousand.
`feed.selectors.page_get` runs the statement as it is here (it only reads);
`feed.services.feed_page_serve` adds the exposure upsert to the same statement (it
records), so a served page stays one round trip.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection

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


def _fatigue_params(now: datetime) -> dict[str, Any]:
    return {
        "now": now,
        "shown": settings.FEED_FATIGUE_SHOWN_HOURS,
        "recent": settings.FEED_FATIGUE_RECENT_HOURS,
        "decay": settings.FEED_FATIGUE_DECAY_HOURS,
        "per_point": settings.FEED_FATIGUE_HOURS_PER_POINT,
    }


# Fatigue in hours: 18 × times shown + 24 × e^(-hours since shown / 24), with "never
# shown" as no penalty. exp() is clamped: Postgres raises on float underflow.
#
# Fatigue only lowers an item and a never-shown item has none, so the best entries by
# (tier, score less fatigue) are among the best `limit + slack` never-shown entries by
# (tier, score) — read off feed_entry_rank_idx, stopping there — together with every
# entry the viewer was shown (their exposure rows, fatigue applied): exact, without
# ranking all of the viewer's entries on every GET.
_PAGE_CTE = f"""
    viewer AS (
        SELECT u.id, u.login, u.name FROM {USER} u WHERE {{match}} LIMIT 1
    ),
    fresh AS (
        SELECT e.repo_id, e.author_id, e.reasons, e.include, e.tier, e.score AS ranked
        FROM {ENTRY} e
        WHERE e.viewer_id = (SELECT id FROM viewer)
          AND NOT EXISTS (
              SELECT 1 FROM {EXPOSURE} x WHERE x.viewer_id = e.viewer_id AND x.repo_id = e.repo_id
          )
        ORDER BY e.tier, e.score DESC, e.repo_id
        LIMIT %(limit)s::int + %(slack)s::int
    ),
    shown AS (
        SELECT e.repo_id, e.author_id, e.reasons, e.include, e.tier,
               e.score - (
                   %(shown)s::float8 * coalesce(x.times_shown, 0)
                   + CASE WHEN x.last_shown_at IS NULL THEN 0
                     ELSE %(recent)s::float8 * exp(greatest(
                       -700, -extract(epoch FROM (%(now)s::timestamptz - x.last_shown_at))::float8
                             / 3600.0 / %(decay)s::float8
                     )) END
               ) / %(per_point)s::float8 AS ranked
        FROM {EXPOSURE} x
        JOIN {ENTRY} e ON e.viewer_id = x.viewer_id AND e.repo_id = x.repo_id
        WHERE x.viewer_id = (SELECT id FROM viewer)
    ),
    ranked AS (
        SELECT * FROM fresh UNION ALL SELECT * FROM shown
        ORDER BY tier, ranked DESC, repo_id
        LIMIT %(limit)s::int + %(slack)s::int
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
        LIMIT %(limit)s::int
    )
"""  # noqa: S608 - identifiers from model metadata; values are parameters

_BY_LOGIN = (
    f"lower(u.login) = lower(%(login)s::text) AND u.state <> '{GitHubUser.State.DISCOVERED}'"
)
_BY_ID = "u.id = %(viewer)s::bigint"

# Each item is built by Postgres as the JSON the API answers, with every field /data
# shows for a repo plus author, flag, score and reasons (keys in repo_payload's order):
# the web process passes the text through instead of building and encoding dicts.
_ITEM = f"""json_build_object(
        'id', r.full_name, 'full_name', r.full_name, 'owner', r.owner_login, 'name', r.name,
        'description', r.description, 'language', nullif(r.language, ''),
        'stargazers_count', r.stargazers_count, 'fork', r.is_fork, 'archived', r.is_archived,
        'topics', r.topics, 'homepage', nullif(r.homepage, ''), 'pushed_at', r.pushed_at,
        'updated_at', r.github_updated_at, 'include_reason', p.include_reason,
        'user_commit_days', p.commit_days, 'generated_description', r.blurb,
        'blurb', r.blurb, 'emphasis', r.emphasis, 'keywords', r.keywords, 'kind', r.kind,
        'link', nullif(r.link, ''),
        'gallery', (SELECT coalesce(json_agg(json_build_object(
                'url', g.url, 'alt', g.alt, 'original_url', g.original_url, 'title', g.title,
                'caption', g.caption, 'is_highlight', g.is_highlight, 'taken_at', g.taken_at
              ) ORDER BY g.id), '[]'::json)
            FROM {GALLERY} g WHERE g.repo_id = r.id),
        'enriched_at', r.enriched_at, 'username', u.login, 'is_ghost', u.state = 'ghost',
        'score', round(p.ranked::numeric, 6)::float8, 'reasons', p.reasons,
        'judged', p.include
    )"""  # noqa: S608 - identifiers from model metadata

_SELECT = f"""
    SELECT v.id, v.login, v.name,
           EXISTS (SELECT 1 FROM {ENTRY} WHERE viewer_id = v.id),
           coalesce((SELECT n FROM {COUNT} WHERE id = 1), 0),
           b.candidates_seen, b.queued_at IS NOT NULL,
           (SELECT count(*) FROM page),
           (SELECT coalesce(json_agg({_ITEM} ORDER BY p.tier, p.ranked DESC, p.repo_id),
                            '[]'::json)
            FROM page p
            JOIN {REPO} r ON r.id = p.repo_id
            JOIN {USER} u ON u.id = p.author_id)::text
    FROM viewer v
    LEFT JOIN {REBUILD} b ON b.viewer_id = v.id
"""  # noqa: S608 - identifiers from model metadata; values are parameters


@dataclass(frozen=True)
class Page:
    """One page and, read in the same statement, what the auto-rebuild needs."""

    viewer_id: int
    login: str
    name: str
    has_entries: bool
    candidates: int
    candidates_seen: int | None
    queued: bool
    count: int
    # The items as the JSON array the API answers.
    repos_json: str

    def items(self) -> list[dict[str, Any]]:
        return json.loads(self.repos_json)


def page_sql(*, by_login: bool, more_ctes: str = "") -> str:
    """The page statement, the viewer matched by login (any case; not a stargazer-only
    user) or by id; `more_ctes` (each starting with a comma) join its WITH list: they
    may read `viewer`, `page` and the parameters."""
    cte = _PAGE_CTE.format(match=_BY_LOGIN if by_login else _BY_ID)
    return "WITH " + cte + more_ctes + _SELECT


def page_params(
    *, limit: int, now: datetime, login: str | None = None, viewer_id: int | None = None
) -> dict[str, Any]:
    return {
        **_fatigue_params(now),
        "login": login,
        "viewer": viewer_id,
        "limit": limit,
        "slack": PAGE_SLACK,
    }


def page_run(sql: str, params: dict[str, Any]) -> Page | None:
    """Run one page statement (None: no such viewer).

    On a server-side-binding cursor of the same connection so that it can be a prepared
    statement (DB_PREPARED_STATEMENTS): Postgres plans it once per connection instead of
    on every request. Django's own cursors bind client-side and never prepare.
    """
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=settings.DB_PREPARED_STATEMENTS)
        row = cursor.fetchone()
    return Page(*row) if row else None
