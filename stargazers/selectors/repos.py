"""A repo's side of the star graph: its stored stargazers and daily star counts."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import connection
from django.db.models import F

from repos import selectors as repo_selectors
from repos.models import Repo
from stargazers.models import StarEdge, StargazerCrawl, StarHistoryDay
from stargazers.selectors.crawls import STARGAZERS_PER_PAGE


def repo_stargazers(*, owner: str, name: str, page: int) -> dict[str, Any]:
    """A repo's stored stargazers, oldest star first, 100 per page."""
    full_name = repo_selectors.repo_name_validate(owner=owner, name=name)
    repo = repo_selectors.repo_get(full_name=full_name)
    qs = StarEdge.objects.filter(repo=repo)
    total = qs.count()
    start = (page - 1) * STARGAZERS_PER_PAGE
    rows = qs.order_by(F("starred_at").asc(nulls_last=True), "id").values(
        "user__login", "user__avatar_url", "user__state", "starred_at", "source"
    )[start : start + STARGAZERS_PER_PAGE]
    crawl = StargazerCrawl.objects.filter(pk=repo.pk).values("status").first()
    return {
        "repo": repo.full_name,
        "crawl_status": crawl["status"] if crawl else None,
        "page": page,
        "per_page": STARGAZERS_PER_PAGE,
        "total": total,
        "pages": -(-total // STARGAZERS_PER_PAGE),
        "stargazers": [
            {
                "login": r["user__login"],
                "avatar_url": r["user__avatar_url"],
                "state": r["user__state"],
                "starred_at": r["starred_at"],
                "source": r["source"],
            }
            for r in rows
        ],
    }


def _history_day(day: date, stars: int) -> dict[str, Any]:
    return {"date": day.isoformat(), "count": stars}


def repo_star_history(*, owner: str, name: str) -> tuple[Repo, list[dict[str, Any]]]:
    full_name = repo_selectors.repo_name_validate(owner=owner, name=name)
    repo = repo_selectors.repo_get(full_name=full_name)
    days = StarHistoryDay.objects.filter(repo=repo).order_by("day").values_list("day", "stars")
    return repo, [_history_day(day, stars) for day, stars in days]


def star_history_many(*, repo_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Several repos' stored daily star counts in one query (a profile draws every
    highlight's history at once), each list shaped as `repo_star_history`'s."""
    out: dict[int, list[dict[str, Any]]] = {repo_id: [] for repo_id in repo_ids}
    rows = (
        StarHistoryDay.objects.filter(repo_id__in=repo_ids)
        .order_by("repo_id", "day")
        .values_list("repo_id", "day", "stars")
    )
    for repo_id, day, stars in rows:
        out[repo_id].append(_history_day(day, stars))
    return out


def star_history_versions(*, repo_ids: list[int]) -> dict[int, str]:
    """A digest of each repo's stored days and counts, by repo id (repos with none left
    out): it changes with any day's count, so a drawing can be kept under it without
    reading the days themselves."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT repo_id, md5(string_agg(day::text || ':' || stars::text, ',' ORDER BY day))
            FROM {StarHistoryDay._meta.db_table}
            WHERE repo_id = ANY(%s)
            GROUP BY repo_id
            """,  # noqa: S608 - identifiers from model metadata; values are parameters
            [list(repo_ids)],
        )
        return dict(cursor.fetchall())
