"""LLM calls over the `llm` queue: a real LLM worker process, the simulator's LLM
endpoint, and the processes on either side loading only what they need."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from conftest import worker_env
from workers import queues
from workers.llm import LlmFailed, LlmUnavailable, inline_calls, llm_json
from workers.testing import ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(simulator, llm_worker, settings):
    simulator.reset()
    settings.LLM_WORKER = True
    return simulator


def _ask(**overrides):
    options = {
        "task": "repo_keywords",
        "prompt": "name: swift-parser\nA parser for data pipelines written in Python.",
        "shape": '{"keywords": [str]}',
        "validate": lambda v: [str(w) for w in v["keywords"]][:4] or ValueError(),
        "fallback": lambda: ["fallback"],
    }
    options.update(overrides)
    return llm_json(**options)


def test_the_call_is_made_by_the_llm_worker(endpoint, llm_worker):
    answer = _ask()
    assert answer.source == "llm" and answer.attempts == 1
    assert answer.value and answer.value != ["fallback"]
    assert endpoint.stats()["llm_calls"] == {"repo_keywords": 1}
    assert "llm.call task=repo_keywords" in llm_worker.log_tail(400)


def test_provider_errors_come_back_as_data_and_are_retried(endpoint):
    endpoint.configure(llm={"error_rate": 1.0, "error_status": 500})
    with pytest.raises(LlmFailed) as caught:
        _ask(max_attempts=2)
    assert "after 2 attempts" in str(caught.value)
    assert not isinstance(caught.value, LlmUnavailable)
    assert "sim-key" not in str(caught.value)
    assert endpoint.stats()["llm_calls"] == {"repo_keywords": 2}


def test_no_llm_worker_gives_up_after_the_wait_without_retrying(
    endpoint, settings, monkeypatch, redis_test_client
):
    # A queue no worker consumes stands in for an LLM worker that is down.
    nobody = f"llm-nobody-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(queues, "LLM", nobody)
    settings.LLM_TIMEOUT_SECONDS = 1
    settings.LLM_QUEUE_WAIT_SECONDS = 1
    try:
        answer = _ask(fallback_on_failure=True, max_attempts=3)
        assert answer.source == "fallback" and answer.value == ["fallback"]
        assert answer.attempts == 1 and answer.unavailable is True
        assert "no LLM worker answered within 2s" in answer.error
        # Without a fallback the error is its own class (still an LlmFailed).
        with pytest.raises(LlmUnavailable, match="no LLM worker answered"):
            _ask(max_attempts=3)
    finally:
        for key in redis_test_client.scan_iter(f"{nobody}*"):
            redis_test_client.delete(key)
    assert endpoint.stats()["llm_calls"] == {}


def test_inline_calls_need_no_llm_worker(endpoint, settings, monkeypatch):
    """`manage.py run` makes its calls itself, whatever LLM_WORKER says."""
    monkeypatch.setattr(queues, "LLM", f"llm-nobody-{uuid.uuid4().hex[:8]}")
    settings.LLM_TIMEOUT_SECONDS = 5
    settings.LLM_QUEUE_WAIT_SECONDS = 1
    with inline_calls():
        answer = _ask()
    assert answer.source == "llm" and answer.attempts == 1
    assert endpoint.stats()["llm_calls"] == {"repo_keywords": 1}


_CALLER = """
import json, sys
import django
django.setup()
from config.celery import app
app.loader.import_default_modules()
from workers.llm import count_tokens, llm_json
answer = llm_json(
    task="repo_kind", prompt="name: swift-parser", shape='{"kind": str}',
    validate=lambda v: str(v["kind"]), fallback=lambda: "library",
)
print(json.dumps({
    "source": answer.source,
    "tokens": count_tokens("hello world"),
    "litellm": sorted(m for m in sys.modules if m.split(".")[0] in ("litellm", "openai")),
}))
"""


def test_pipeline_processes_never_load_litellm(endpoint):
    """A process with every task module that asks for a completion and counts tokens
    loads neither litellm nor the OpenAI types (the point of the LLM worker)."""
    env = {**worker_env(), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _CALLER], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"source": "llm", "tokens": 2, "litellm": []}


def test_the_llm_worker_loads_no_django_project():
    probe = (
        "import sys, workers.llm_worker\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('config', 'users', 'repos', 'stargazers', 'rest_framework', 'django_celery_beat')"
        " or m.startswith(('django.db', 'django.apps'))))"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[]"
