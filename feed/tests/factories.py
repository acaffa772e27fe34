"""Factories for feed tests: users with highlighted repos, and star edges."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from repos.models import Repo, UserRepo
from stargazers.models import StarEdge
from users.models import GitHubUser

_ids = itertools.count(7_000_000)
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def user_make(login: str, *, state: str = "active", theme: str = "", bio: str = "") -> GitHubUser:
    n = next(_ids)
    return GitHubUser.objects.create(
        login=login, github_id=n, state=state, theme=theme, bio=bio, name=login.title()
    )


def repo_make(
    full_name: str,
    *,
    language: str = "Python",
    keywords: list[str] | None = None,
    emphasis: list[str] | None = None,
    kind: str = "library",
    description: str = "",
    blurb: str = "",
    pushed_days_ago: float = 10,
    stars: int = 10,
) -> Repo:
    n = next(_ids)
    owner, name = full_name.split("/")
    return Repo.objects.create(
        github_id=n,
        full_name=full_name,
        owner_login=owner,
        name=name,
        language=language,
        keywords=keywords or [],
        emphasis=emphasis or [],
        kind=kind,
        description=description or f"{name} does things",
        blurb=blurb,
        pushed_at=NOW - timedelta(days=pushed_days_ago),
        stargazers_count=stars,
    )


def highlight(user: GitHubUser, *repos: Repo, reason: str = "owned") -> list[UserRepo]:
    start = UserRepo.objects.filter(user=user, highlight_rank__isnull=False).count()
    return [
        UserRepo.objects.create(
            user=user, repo=repo, include_reason=reason, commit_days=7, highlight_rank=start + i
        )
        for i, repo in enumerate(repos, start=1)
    ]


def star(user: GitHubUser, *repos: Repo) -> None:
    StarEdge.objects.bulk_create(
        [StarEdge(user=user, repo=repo, source="starred") for repo in repos], ignore_conflicts=True
    )
