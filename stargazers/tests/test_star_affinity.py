"""Per-account star affinity: computed once, marked stale by edge writes, refreshed."""

from __future__ import annotations

import pytest

from stargazers import services
from stargazers.models import AccountStarAffinity, StarEdge
from stargazers.selectors.kindred import kindred_get
from tests.factories import RepoFactory, UserFactory

pytestmark = pytest.mark.django_db


def edge(user, repo, source="starred"):
    StarEdge.objects.create(user=user, repo=repo, source=source)


@pytest.fixture
def graph():
    ada, bob, cy = (UserFactory(login=n) for n in ("ada", "bob", "cy"))
    r = [RepoFactory(full_name=f"acme/r{i}", stars=100) for i in range(4)]
    tool = RepoFactory(full_name="dan/tool", stars=4)
    for repo in r[:3]:
        edge(ada, repo)
    edge(bob, r[0]), edge(bob, r[1]), edge(bob, tool)
    edge(cy, r[2])
    return {"ada": ada, "bob": bob, "cy": cy, "r": r, "tool": tool}


def test_compute_stores_kindred_and_what_they_starred(graph):
    row = services.star_affinity_compute(user_id=graph["ada"].pk)
    assert row.kindred == [[graph["bob"].pk, 2], [graph["cy"].pk, 1]]
    assert row.starred_count == 3 and row.top_weight == 3
    weight, overlap = row.repos[str(graph["tool"].pk)]
    assert weight == 2 and overlap == pytest.approx(1 / 2, abs=1e-6)  # 1 of sqrt(4)
    assert row.owners["dan"] == 2
    features = services.star_affinity_get_or_compute(user_id=graph["ada"].pk)
    assert features["repo_kindred"][graph["tool"].pk] == pytest.approx(2 / 3)
    assert features["owner_kindred"]["dan"] == pytest.approx(2 / owners_max(row))


def owners_max(row):
    return max(row.owners.values())


def test_a_new_stargazer_marks_the_accounts_that_starred_the_repo_stale_once(
    graph, django_capture_on_commit_callbacks
):
    for login in ("ada", "cy"):
        services.star_affinity_compute(user_id=graph[login].pk)
    dee = UserFactory(login="dee")
    edge(dee, graph["r"][2], source="stargazers")
    with django_capture_on_commit_callbacks() as callbacks:
        flipped = services.star_affinity_mark_stale(repo_ids=[graph["r"][2].pk])
        again = services.star_affinity_mark_stale(repo_ids=[graph["r"][2].pk])
    assert sorted(flipped) == sorted([graph["ada"].pk, graph["cy"].pk]) and again == []
    assert len(callbacks) == 1  # one enqueue for the flip, none for the repeat
    # The stale row is still served; the refresh brings the new neighbour in.
    assert "dee" not in [k["login"] for k in kindred_get(login="ada", limit=10)["kindred"]]
    AccountStarAffinity.objects.filter(pk=graph["ada"].pk).update(computed_at="2000-01-01T00:00Z")
    assert services.star_affinity_refresh(user_id=graph["ada"].pk) is True
    assert services.star_affinity_refresh(user_id=graph["ada"].pk) is False  # duplicate
    logins = [k["login"] for k in kindred_get(login="ada", limit=10)["kindred"]]
    assert logins == ["bob", "cy", "dee"]


def test_an_account_sync_creates_its_row_to_compute(graph, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        flipped = services.star_affinity_mark_stale(user_ids=[graph["bob"].pk])
    assert flipped == [graph["bob"].pk] and len(callbacks) == 1
    row = AccountStarAffinity.objects.get(pk=graph["bob"].pk)
    assert row.computed_at is None and row.stale_at is not None
    # The selector reads what is stored: nothing computed yet, and it writes nothing.
    stored = kindred_get(login="bob", limit=5)
    assert stored["computed_at"] is None and stored["kindred"] == []
    assert AccountStarAffinity.objects.get(pk=graph["bob"].pk).computed_at is None
    # A reader does not wait for the refresh: the service computes a missing row now.
    body = services.kindred_get_or_compute(login="bob", limit=5)
    assert [k["login"] for k in body["kindred"]] == ["ada"] and "user_id" not in body
    assert AccountStarAffinity.objects.get(pk=graph["bob"].pk).computed_at is not None


def test_refresh_waits_for_the_interval_and_the_sweep_enqueues_only_due_rows(
    graph, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    services.star_affinity_compute(user_id=graph["ada"].pk)
    AccountStarAffinity.objects.filter(pk=graph["ada"].pk).update(
        stale_at=timezone.now() - timedelta(minutes=10)
    )
    assert services.star_affinity_refresh(user_id=graph["ada"].pk) is False  # just computed
    assert services.star_affinity_sweep() == 0
    AccountStarAffinity.objects.filter(pk=graph["ada"].pk).update(
        computed_at=timezone.now() - timedelta(hours=2)
    )
    assert services.star_affinity_sweep() == 1
    assert services.star_affinity_refresh(user_id=graph["ada"].pk) is True
