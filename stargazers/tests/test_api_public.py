"""Public star-graph reads: progress, stargazers, star history, kindred."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from stargazers import services
from stargazers.models import StarEdge, StarHistoryDay
from tests.factories import CrawlFactory, RepoFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return APIClient()


@pytest.fixture
def graph():
    """ada starred r1..r3; bob shares r1, r2; cy shares r3; dee shares nothing."""
    ada, bob, cy, dee = (UserFactory(login=n) for n in ("ada", "bob", "cy", "dee"))
    r1, r2, r3, r4 = (RepoFactory(full_name=f"acme/r{i}", stars=3) for i in range(1, 5))
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    for i, (user, repo, source) in enumerate(
        [
            (ada, r1, "starred"),
            (ada, r2, "starred"),
            (ada, r3, "starred"),
            (bob, r1, "stargazers"),
            (bob, r2, "starred"),
            (cy, r3, "stargazers"),
            (dee, r4, "stargazers"),
        ]
    ):
        StarEdge.objects.create(
            repo=repo, user=user, source=source, starred_at=t0 + timedelta(days=i)
        )
    CrawlFactory(repo=r1, status="completed", stargazers_stored=2)
    CrawlFactory(repo=r2, status="processing")
    CrawlFactory(repo=r3, status="restricted")
    return {"ada": ada, "r1": r1, "r3": r3}


def test_progress_counts_repos_by_status(client, graph):
    body = client.get("/users/ada/stars/progress").json()
    assert body["repos"] == 3 and body["starred_repos"] == 3
    assert body["repos_by_status"]["completed"] == 1
    assert body["repos_by_status"]["restricted"] == 1
    assert body["stargazers_stored"] == 2
    assert body["state"] == "syncing_starred"  # never synced


def test_progress_unknown_or_invalid_user(client, graph):
    assert client.get("/users/nobody/stars/progress").status_code == 404
    response = client.get("/users/-bad-/stars/progress")
    assert response.status_code == 400 and response.json()["ok"] is False


def test_stargazers_paged_oldest_first(client, graph):
    body = client.get("/repos/acme/r1/stargazers").json()
    assert [s["login"] for s in body["stargazers"]] == ["ada", "bob"]
    assert body["total"] == 2 and body["crawl_status"] == "completed"
    assert client.get("/repos/acme/r1/stargazers?page=2").json()["stargazers"] == []
    assert client.get("/repos/acme/r1/stargazers?page=0").status_code == 400
    assert client.get("/repos/acme/nope/stargazers").status_code == 404


def test_kindred_ranks_by_common_repos_in_one_query(client, graph, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        body = client.get("/users/ada/kindred?limit=5").json()
    assert [(k["login"], k["common_repos"]) for k in body["kindred"]] == [("bob", 2), ("cy", 1)]
    assert set(body["kindred"][0]) == {"login", "state", "avatar_url", "common_repos"}
    # Stored now: the user, the row and the kindred's user fields in one statement.
    with django_assert_max_num_queries(1):
        again = client.get("/users/ADA/kindred?limit=1").json()
    assert again["login"] == "ada" and again["kindred"] == body["kindred"][:1]
    assert again["computed_at"].endswith("Z") and again["starred_repos"] == body["starred_repos"]
    assert client.get("/users/ada/kindred?limit=0").status_code == 400
    assert client.get("/users/ghost-nobody/kindred").status_code == 404


def test_star_history_queues_then_serves_stored_days(
    client, graph, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.get("/repos/acme/r3/star-history")
    assert response.status_code == 202 and response.json()["status"] == "fetching"
    assert len(callbacks) == 1
    StarHistoryDay.objects.create(repo=graph["r3"], day="2025-01-02", stars=4)
    body = client.get("/repos/acme/r3/star-history").json()
    assert body["status"] == "ready"
    assert body["days"] == [{"date": "2025-01-02", "count": 4}]


def test_star_history_refresh_stores_simulator_days(simulator):
    repo = RepoFactory(full_name="bench-org/bench-00001", stars=1)
    from ghsim.world import World

    world = World(seed=1)
    truth = world.star_history(world.get_repo("bench-org", "bench-00001"))
    stored = services.star_history_refresh(repo_id=repo.pk)
    assert stored == len(truth) > 0
    assert sum(StarHistoryDay.objects.filter(repo=repo).values_list("stars", flat=True)) == sum(
        d["count"] for d in truth
    )
