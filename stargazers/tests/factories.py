"""Factories for star-graph tests."""

from __future__ import annotations

import itertools

from repos.models import Repo
from stargazers.models import StargazerCrawl
from users.models import GitHubUser

_ids = itertools.count(9_000_000)


def user_make(*, login: str | None = None, state: str = "active", **fields) -> GitHubUser:
    n = next(_ids)
    return GitHubUser.objects.create(
        login=login or f"user-{n}", github_id=fields.pop("github_id", n), state=state, **fields
    )


def repo_make(*, full_name: str | None = None, stars: int = 10, **fields) -> Repo:
    n = next(_ids)
    full_name = full_name or f"owner-{n}/repo-{n}"
    owner, name = full_name.split("/")
    return Repo.objects.create(
        full_name=full_name,
        owner_login=owner,
        name=name,
        github_id=fields.pop("github_id", n),
        stargazers_count=stars,
        **fields,
    )


def crawl_make(*, repo: Repo | None = None, **fields) -> StargazerCrawl:
    repo = repo or repo_make()
    fields.setdefault("repo_stars", repo.stargazers_count)
    return StargazerCrawl.objects.create(repo=repo, **fields)
