"""The activity step when the profile is read over GraphQL: every repo the user committed
to in the window (not only the linked ones), days equal to the simulator's truth, and a
refresh of an unchanged user that costs no API budget."""

from __future__ import annotations

import json

import pytest

from activity.models import ActivityRepo, UserActivity
from activity.tests.conftest import expected_document, linked, run
from users.models import WorkItem

pytestmark = pytest.mark.django_db

API_KINDS = ("user", "user_repos", "repo", "branches", "commits", "languages", "readme", "graphql")


def _doc(login: str) -> UserActivity:
    return UserActivity.objects.get(user__login__iexact=login)


def _api(sim) -> dict:
    stats = sim.stats()
    return {
        "rest": sum(stats["by_kind"].get(k, 0) for k in API_KINDS if k != "graphql"),
        "points": stats["graphql_points"],
        "not_modified": stats["not_modified"],
        "packs": sum(stats["git_upload_packs"].values()),
    }


@pytest.mark.parametrize("login", ["avery-lin", "dana-kowalski"])
def test_document_covers_every_repo_committed_to_and_equals_the_truth(inproc_graphql, login):
    run(login, select="fetch_profile,fetch_repos,user_activity")
    item = WorkItem.objects.get(user__login__iexact=login, step="user_activity")
    assert item.status == "succeeded", item.error
    doc = json.loads(_doc(login).document)
    expected = expected_document(inproc_graphql, login, None)
    for day in sorted(set(doc["days"]) | set(expected["days"])):
        assert doc["days"].get(day) == expected["days"].get(day), day
    assert doc == expected
    # Days in repos the profile does not link count too.
    assert set(doc["repo_days"]) - linked(login)


def test_refresh_of_unchanged_user_costs_no_budget_and_no_clone(inproc_graphql):
    login = "eli-navarro"
    run(login, select="fetch_profile,fetch_repos,user_activity")
    first = _doc(login)
    repos = ActivityRepo.objects.filter(user__login__iexact=login).count()
    before = _api(inproc_graphql)
    run(login, select="user_activity")
    after = _api(inproc_graphql)
    assert after["rest"] == before["rest"] and after["points"] == before["points"]
    assert after["packs"] - before["packs"] <= repos  # one ls-remote each, no clone
    again = _doc(login)
    assert again.document == first.document
    assert again.coverage["repos_scanned"] == 0
    assert again.coverage["repos_unchanged"] + len(again.coverage["repos_skipped"]) == repos


def test_refresh_after_a_push_to_an_unlinked_repo_adds_the_day(inproc_graphql):
    from django.utils import timezone

    login = "farah-haddad"
    run(login, select="fetch_profile,fetch_repos,user_activity")
    covered = set(
        ActivityRepo.objects.filter(user__login__iexact=login, status="ok").values_list(
            "full_name", flat=True
        )
    )
    unlinked = sorted(covered - linked(login))
    assert unlinked
    target = unlinked[0]
    inproc_graphql.push_commit(target, login=login, paths=["src/late_night.py"])
    before = _api(inproc_graphql)
    run(login, select="user_activity")
    after = _api(inproc_graphql)
    assert after["rest"] == before["rest"]
    assert after["points"] - before["points"] == 1  # one query for the one moved repo
    doc = json.loads(_doc(login).document)
    today = timezone.now().date().isoformat()
    assert target in doc["days"][today]["repos"]
    assert doc == expected_document(inproc_graphql, login, None)
