"""The LLM gateway against the simulator's OpenAI-compatible endpoint."""

from __future__ import annotations

import pytest

from ghsim.testing import SimulatorProcess
from workers import llm
from workers.llm import LlmFailed, LlmUnavailable, count_tokens, llm_json, parse_json_answer


@pytest.fixture(scope="module")
def sim():
    with SimulatorProcess(seed=1) as process:
        yield process


@pytest.fixture
def endpoint(sim, settings):
    sim.reset()
    settings.LLM_API_BASE = sim.llm_base
    settings.LLM_API_KEY = "sim-key"
    settings.LLM_MODEL = "openrouter/deepseek/deepseek-chat-v3.1"
    # These tests cover the gateway itself, calling the provider from this process; the
    # LLM worker's transport has its own tests (test_llm_worker.py).
    settings.LLM_WORKER = False
    return sim


def _keywords(value):
    words = value["keywords"]
    if not isinstance(words, list) or not 1 <= len(words) <= 4:
        raise ValueError("keywords must be a list of 1-4 strings")
    return [str(w) for w in words]


def _ask(**overrides):
    options = {
        "task": "repo_keywords",
        "prompt": "name: swift-parser\nA parser for data pipelines written in Python.",
        "shape": '{"keywords": [str]}',
        "validate": _keywords,
        "fallback": lambda: ["fallback"],
    }
    options.update(overrides)
    return llm_json(**options)


def test_answer_is_parsed_validated_and_counted(endpoint):
    answer = _ask()
    assert answer.source == "llm" and answer.attempts == 1
    assert answer.value and answer.value != ["fallback"]
    assert endpoint.stats()["llm_calls"] == {"repo_keywords": 1}


def test_message_declares_task_and_shape():
    text = llm.build_message(task="repo_kind", prompt="  about  ", shape='{"kind": str}')
    assert text.splitlines()[0] == "task: repo_kind"
    assert text.endswith('Answer with JSON only, shaped like: {"kind": str}')


def test_openai_compatible_model_name(settings):
    settings.LLM_API_BASE = "http://127.0.0.1:9100/v1"
    settings.LLM_MODEL = "openrouter/deepseek/deepseek-chat-v3.1"
    assert llm.model_name() == "openai/deepseek/deepseek-chat-v3.1"
    settings.LLM_MODEL = "openai/ghsim-llm"
    assert llm.model_name() == "openai/ghsim-llm"
    settings.LLM_API_BASE = None
    settings.LLM_MODEL = "openrouter/deepseek/deepseek-chat-v3.1"
    assert llm.model_name() == "openrouter/deepseek/deepseek-chat-v3.1"


def test_repairable_answers_are_repaired(endpoint):
    endpoint.configure(llm={"malformed": "repairable"})
    first, second = _ask(), _ask()  # the simulator alternates two kinds of damage
    assert first.source == second.source == "llm"
    assert first.attempts == second.attempts == 1
    assert endpoint.stats()["llm_calls"] == {"repo_keywords": 2}


def test_garbage_is_retried_then_fails_clearly(endpoint):
    endpoint.configure(llm={"malformed": "garbage"})
    with pytest.raises(LlmFailed, match="repo_keywords failed after 2 attempts") as caught:
        _ask(max_attempts=2)
    # An answer came, it was unusable: the LLM was there.
    assert not isinstance(caught.value, LlmUnavailable)
    assert endpoint.stats()["llm_calls"] == {"repo_keywords": 2}
    answer = _ask(max_attempts=2, fallback_on_failure=True)
    assert answer.source == "fallback" and answer.value == ["fallback"]
    assert "failed after 2 attempts" in answer.error
    assert answer.unavailable is False


def test_validation_rejects_wrong_shapes(endpoint):
    def wants_kind(value):
        if "kind" not in value:
            raise ValueError("no kind")
        return value["kind"]

    with pytest.raises(LlmFailed, match="no kind"):
        _ask(validate=wants_kind, max_attempts=2)


@pytest.mark.parametrize("status", [500, 429])
def test_provider_errors_are_retried(endpoint, status):
    endpoint.configure(llm={"error_rate": 1.0, "error_status": status})
    with pytest.raises(LlmFailed) as caught:
        _ask(max_attempts=2)
    assert "sim-key" not in str(caught.value)
    # The provider answered with an error: asked again, and not an outage of the LLM worker.
    assert not isinstance(caught.value, LlmUnavailable)
    assert endpoint.stats()["llm_calls"] == {"repo_keywords": 2}


def test_no_key_means_fallback_without_a_call(endpoint, settings):
    settings.LLM_API_KEY = ""
    answer = _ask()
    assert answer.source == "fallback" and answer.value == ["fallback"]
    assert answer.attempts == 0
    assert endpoint.stats()["llm_calls"] == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('Here:\n```json\n{"a": [1, 2]}\n```\nDone.', {"a": [1, 2]}),
        ('```\n["x", "y"]\n```', ["x", "y"]),
        ('The answer is {"a": "b}"} and more {"c": 2}', {"a": "b}"}),
        ("noise [1, 2, 3] trailing", [1, 2, 3]),
        ("{'a': 1, 'b': [1, 2,],}", {"a": 1, "b": [1, 2]}),
        ('```json\n{"a": 1,\n```', {"a": 1}),
    ],
)
def test_parse_json_answer(text, expected):
    assert parse_json_answer(text) == expected


@pytest.mark.parametrize("text", ["", "I cannot help with that.", "   "])
def test_parse_json_answer_rejects_garbage(text):
    with pytest.raises(ValueError):
        parse_json_answer(text)


def test_count_tokens_is_the_gpt4_encoding_offline():
    assert count_tokens("") == 0
    # cl100k_base splits these exactly so (tiktoken's gpt-4 encoding).
    assert count_tokens("hello world") == 2
    assert count_tokens("tiktoken is great!") == 6
    # Special-token text is counted as text, never refused.
    assert count_tokens("<|endoftext|>") > 1
