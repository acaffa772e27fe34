"""Reads of the feed: candidates, the viewer's profile, the ranked page (as it would be
served, nothing recorded; the statement is `feed.page`'s) and the rebuild row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models.functions import Lower
from django.utils import timezone

from feed.models import CandidateCount, FeedRebuild
from feed.page import Page, page_params, page_run, page_sql
from repos.models import UserRepo
from users.models import GitHubUser

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
        .alias(owner_lower=Lower("repo__owner_login"))
        .exclude(user_id=viewer.pk)
        .exclude(owner_lower=viewer.login.lower())
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
def page_get(*, viewer_id: int, limit: int, now: datetime | None = None) -> Page | None:
    """The viewer's ranked page as `GET /for-you` would serve it now, in one statement,
    recording nothing (None: no such viewer). Serving records: `feed_page_serve`."""
    params = page_params(limit=limit, now=now or timezone.now(), viewer_id=viewer_id)
    return page_run(page_sql(by_login=False), params)


def page_fetch(*, viewer: GitHubUser, limit: int, now: datetime | None = None):
    """The viewer's ranked items as dicts, recording nothing."""
    page = page_get(viewer_id=viewer.pk, limit=limit, now=now)
    return page.items() if page else []


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


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
