"""Fixtures of the activity tests: the session simulator and helpers that compare the
stored document with the simulator's truth."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import call_command

from activity.services import document_build, window_for
from repos.models import UserRepo
from users.models import GitHubUser


@pytest.fixture
def sim(simulator):
    simulator.configure(unauth_limit=1_000_000)
    yield simulator
    simulator.reset()


@pytest.fixture
def inproc(sim, settings):
    """Steps run in this process with a token pool of their own (a fresh budget), the
    profile read over REST (the linked repos, REST's conditional requests)."""
    settings.GITHUB_TOKENS = [f"act-inproc-{uuid.uuid4().hex[:8]}"]
    settings.GITHUB_PROFILE_FETCH = "rest"
    return sim


@pytest.fixture
def inproc_graphql(sim, settings):
    """As `inproc`, the profile read over GraphQL (every repo committed to, heads over git)."""
    settings.GITHUB_TOKENS = [f"act-gq-{uuid.uuid4().hex[:8]}"]
    settings.GITHUB_PROFILE_FETCH = "graphql"
    return sim


def run(login: str, select: str | None = None) -> None:
    options = {"select": select} if select else {}
    call_command("run", login, stdout=io.StringIO(), stderr=io.StringIO(), **options)


def linked(login: str) -> set[str]:
    return set(
        UserRepo.objects.filter(user__login__iexact=login).values_list("repo__full_name", flat=True)
    )


def expected_document(sim, login: str, repos: set[str] | None) -> dict:
    """The simulator's true commit days and languages over `repos` (None: every repo),
    in the window."""
    from django.utils import timezone

    truth = sim.truth(f"users/{login}/active-days", since="2000-01-01T00:00:00Z")
    start, end = window_for(timezone.now().date())
    per_repo: dict[str, dict[str, list[str]]] = {}
    for commit in truth["commits"]:
        if repos is not None and commit["repo"] not in repos:
            continue
        day = commit["date"][:10]
        langs = per_repo.setdefault(commit["repo"], {}).setdefault(day, [])
        langs.extend(commit["languages"])
    return document_build(repo_days=per_repo, window_start=start, window_end=end)


def user(login: str) -> GitHubUser:
    return GitHubUser.objects.get(login__iexact=login)
