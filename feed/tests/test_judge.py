"""The judge's batches when the LLM is away or answers badly: the gateway's `unavailable`
decides whether the remaining batches are still sent."""

from __future__ import annotations

import uuid

import pytest

from feed import judge, services
from tests.factories import NOW, RepoFactory, UserFactory, highlight
from workers import queues

pytestmark = pytest.mark.django_db

CANDIDATES = 5


@pytest.fixture
def scored(settings):
    settings.FEED_JUDGE_BATCH_SIZE = 2  # three prompts: 2, 2, 1
    viewer = UserFactory(login="judge-viewer", theme="Python parsing")
    highlight(viewer, RepoFactory(full_name="judge-viewer/own", keywords=["parsing"]))
    author = UserFactory(login="judge-author")
    highlight(author, *[RepoFactory(full_name=f"judge-author/r{n}") for n in range(CANDIDATES)])
    return viewer, services.feed_stage1(viewer=viewer, now=NOW)


def test_no_llm_worker_sends_only_the_first_batch(scored, settings, monkeypatch, redis_test_client):
    viewer, ranked = scored
    # A queue no worker consumes stands in for an LLM worker that is down.
    nobody = f"llm-nobody-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(queues, "LLM", nobody)
    settings.LLM_API_KEY = "any-key"
    settings.LLM_WORKER = True
    settings.LLM_TIMEOUT_SECONDS = 1
    settings.LLM_QUEUE_WAIT_SECONDS = 1
    try:
        outcome = judge.judge_top(viewer=viewer, scored=ranked)
        sent = redis_test_client.llen(nobody)
    finally:
        for key in redis_test_client.scan_iter(f"{nobody}*"):
            redis_test_client.delete(key)
    assert outcome.stats["batches"] == 3 and outcome.stats["fallback_batches"] == 3
    # One message waited for; the two later batches were never sent.
    assert sent == 1 and outcome.stats["llm_calls"] == 1
    assert {by for _, by in outcome.verdicts.values()} == {"fallback"}


def test_unusable_answers_do_not_stop_the_later_batches(scored, simulator, settings):
    viewer, ranked = scored
    settings.LLM_WORKER = False  # the provider called from this process
    simulator.configure(llm={"malformed": "garbage"})
    try:
        outcome = judge.judge_top(viewer=viewer, scored=ranked)
    finally:
        simulator.configure(llm={"malformed": "none"})
    # Every batch asked (twice each): an answer that cannot be read is no outage.
    assert outcome.stats["fallback_batches"] == 3 and outcome.stats["llm_calls"] == 6
    assert outcome.stats["judged"] == 0
