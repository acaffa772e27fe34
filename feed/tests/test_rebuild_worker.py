"""Rebuilds through a real Celery worker and LLM worker, judged by the simulator's LLM."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from feed.models import FeedEntry, FeedJudgment, FeedRebuild
from repos.models import Repo
from tests.factories import RepoFactory, UserFactory, highlight

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

CANDIDATES = 45  # three prompts at the default batch size of 20: 20, 20, 5


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def sim(simulator):
    yield simulator
    simulator.configure(llm={"malformed": "none", "error_rate": 0.0})


@pytest.fixture
def world():
    viewer = UserFactory(login="viewer", theme="Python parsing", bio="I write parsers")
    highlight(
        viewer, RepoFactory(full_name="viewer/own", keywords=["parsing"], description="my parser")
    )
    authors = [UserFactory(login=f"author-{i}", ghost=i == 0) for i in range(3)]
    for n in range(CANDIDATES):
        author = authors[n % 3]
        highlight(
            author,
            RepoFactory(
                full_name=f"{author.login}/repo-{n:02d}",
                language=["Python", "Rust", "Go"][n % 3],
                keywords=[["parsing"], ["cli"], ["web"]][n % 3],
                description=f"repository number {n}",
            ),
        )
    return viewer


def judge_calls(sim) -> int:
    return sim.stats()["llm_calls"].get("feed_judgments", 0)


def items_per_call(sim, last: int) -> list[int]:
    return sim.stats()["llm_items"].get("feed_judgments", [])[-last:] if last else []


def rebuild(api, *, limit: int = 100) -> dict:
    response = api.post(f"/for-you/viewer?wait=true&limit={limit}")
    assert response.status_code == 200, response.content
    return response.json()


def test_cold_rebuild_batches_many_per_prompt_and_a_warm_one_calls_nothing(
    api, sim, world, celery_worker
):
    before = judge_calls(sim)
    body = rebuild(api)
    assert body["status"] == "completed" and body["count"] == CANDIDATES
    cold = judge_calls(sim) - before
    assert cold == 3 and sorted(items_per_call(sim, 3)) == [5, 20, 20]
    stats = body["rebuild"]["stats"]
    assert stats["judged"] == CANDIDATES and stats["cached"] == 0 and stats["batches"] == 3
    assert FeedJudgment.objects.filter(viewer=world).count() == CANDIDATES
    # Judged-included first; the simulator excludes about a third.
    verdicts = [item["judged"] for item in body["repos"]]
    assert True in verdicts and False in verdicts
    assert verdicts == sorted(verdicts, key=lambda v: {True: 0, None: 1, False: 2}[v])
    assert all("llm" in item["reasons"] for item in body["repos"] if item["judged"])
    ghost = next(i for i in body["repos"] if i["username"] == "author-0")
    assert ghost["is_ghost"] is True

    before = judge_calls(sim)
    warm = rebuild(api)
    assert judge_calls(sim) == before
    assert warm["rebuild"]["stats"]["cached"] == CANDIDATES
    assert warm["rebuild"]["stats"]["llm_calls"] == 0


def test_a_changed_repo_rejudges_that_pair_only_and_a_changed_profile_all(
    api, sim, world, celery_worker
):
    rebuild(api)
    Repo.objects.filter(full_name="author-1/repo-07").update(description="now a Rust linter")
    before = judge_calls(sim)
    body = rebuild(api)
    assert judge_calls(sim) - before == 1 and items_per_call(sim, 1) == [1]
    assert body["rebuild"]["stats"]["cached"] == CANDIDATES - 1
    # The viewer's profile is in every pair's fingerprint.
    Repo.objects.filter(full_name="viewer/own").update(description="a different parser")
    before = judge_calls(sim)
    rebuild(api)
    assert judge_calls(sim) - before == 3


@pytest.mark.parametrize("mode", ["garbage", "missing"])
def test_malformed_answers_fall_back_per_batch_and_the_feed_is_complete(
    api, sim, world, celery_worker, mode
):
    sim.configure(llm={"malformed": mode})
    body = rebuild(api)
    assert body["count"] == CANDIDATES
    stats = body["rebuild"]["stats"]
    assert stats["fallback_batches"] == 3 and stats["judged"] == 0
    assert {item["judged"] for item in body["repos"]} == {None}
    assert not FeedJudgment.objects.filter(viewer=world).exists()  # nothing cached
    assert set(FeedEntry.objects.filter(viewer=world).values_list("judged_by", flat=True)) == {
        "fallback"
    }
    # Once the LLM answers again, the next rebuild judges them.
    sim.configure(llm={"malformed": "none"})
    assert rebuild(api)["rebuild"]["stats"]["judged"] == CANDIDATES


def test_a_killed_llm_worker_still_gives_a_complete_feed_quickly(
    api, sim, world, worker_factory, llm_worker
):
    worker_factory(env={"LLM_TIMEOUT_SECONDS": "2", "LLM_QUEUE_WAIT_SECONDS": "1"})
    llm_worker.kill()
    before = judge_calls(sim)
    body = rebuild(api)
    assert body["count"] == CANDIDATES
    stats = body["rebuild"]["stats"]
    assert stats["fallback_batches"] == 3 and stats["judged"] == 0
    # Only the first batch waits for the missing worker; the others are never sent.
    assert stats["llm_calls"] == 1
    assert judge_calls(sim) == before


def test_requests_are_debounced_to_one_queued_rebuild(api, world, celery_worker):
    from feed import services

    first = api.post("/for-you/viewer")
    assert first.status_code == 202
    for _ in range(5):
        services.feed_rebuild_request(viewer="viewer")
    from workers.testing import wait_until

    row = wait_until(
        lambda: FeedRebuild.objects.filter(
            viewer=world, queued_at__isnull=True, status="succeeded"
        ).first(),
        timeout=60,
    )
    # The first request ran; the ones that came while it was queued joined it, and at
    # most one more ran for those that came while it was running.
    assert row.builds <= 2
    assert api.get("/for-you/viewer/rebuild").json()["status"] == "succeeded"
