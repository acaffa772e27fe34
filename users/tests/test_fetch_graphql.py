"""The profile's fetch steps over GraphQL: what they link equals the simulator's truth
(the highlight rules), for a few points and no REST request."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import call_command

from repos.models import Repo, UserRepo
from users.models import GitHubUser, WorkItem

pytestmark = pytest.mark.django_db

REST_KINDS = ("user", "user_repos", "repo", "branches", "commits", "languages", "readme")


@pytest.fixture
def inproc(sim, settings):
    settings.GITHUB_TOKENS = [f"pipe-gq-{uuid.uuid4().hex[:8]}"]
    settings.GITHUB_PROFILE_FETCH = "graphql"
    return sim


def _fetch(login: str) -> dict:
    call_command(
        "run", login, select="fetch_profile,fetch_repos", stdout=io.StringIO(), stderr=io.StringIO()
    )
    return {
        item.step: item.output
        for item in WorkItem.objects.filter(user__login__iexact=login, repo=None)
    }


@pytest.mark.parametrize("login", ["avery-lin", "chen-wei"])
def test_graphql_fetch_links_what_the_seeds_rules_link(inproc, login):
    before = inproc.stats()
    outputs = _fetch(login)
    after = inproc.stats()
    user = GitHubUser.objects.get(login__iexact=login)
    truth = inproc.truth(f"users/{login}/highlight-nominees")
    links = {
        link.repo.full_name: (link.include_reason, link.commit_days)
        for link in UserRepo.objects.filter(user=user).select_related("repo")
    }
    assert links == {
        x["full_name"]: (x["include_reason"], x["commit_days"]) for x in truth["linked"]
    }
    nominees = {x["full_name"] for x in truth["nominees"]}
    with_readme = {
        r.full_name
        for r in Repo.objects.filter(user_links__user=user, has_readme=True)
        if links[r.full_name][1] >= 4
    }
    assert with_readme == nominees
    assert user.name and user.github_id and user.followers is not None
    rest = {k: after["by_kind"].get(k, 0) - before["by_kind"].get(k, 0) for k in REST_KINDS}
    assert set(rest.values()) == {0}, rest
    points = after["graphql_points"] - before["graphql_points"]
    assert (
        points
        == outputs["fetch_profile"]["graphql_points"] + outputs["fetch_repos"]["graphql_points"]
    )
    assert points <= 8
    committed = {r["full_name"] for r in outputs["fetch_repos"]["committed_repos"]}
    assert set(links) <= committed


def test_rest_path_still_there(inproc, settings):
    settings.GITHUB_PROFILE_FETCH = "rest"
    before = inproc.stats()["by_kind"].get("user_repos", 0)
    outputs = _fetch("eli-navarro")
    assert outputs["fetch_repos"]["fetched"] > 0
    assert "graphql_points" not in outputs["fetch_repos"]
    assert inproc.stats()["by_kind"].get("user_repos", 0) == before + 1
