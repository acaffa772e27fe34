"""The LLM gateway: every prompt goes through `llm_json`.

The completion itself is made by `workers.llm_provider` (the one litellm call), on the
LLM worker by default: the call travels over the `llm` queue and this process waits for
the answer, so pipeline workers never load litellm. `LLM_WORKER=false`, or
`inline_calls()` (a foreground `manage.py run`), makes it in this process instead.

Every prompt declares the JSON shape it expects. Answers are parsed leniently (strict
JSON, then a fenced block, then the first balanced array/object), repaired with
json-repair when slightly malformed, validated by the caller, and retried a bounded
number of times. Without a key each caller's deterministic fallback runs instead, so the
rest of the system works unchanged.

When no LLM worker answers within the wait, the answer says so (`unavailable`, or the
`LlmUnavailable` error without a fallback): asking again at once would wait as long, so
callers with more prompts to send skip them by that flag, never by the message text.

    answer = llm_json(
        task="repo_kind",
        prompt="...",
        shape='{"kind": str}',
        validate=lambda v: v["kind"],
        fallback=lambda: "library",
    )
    answer.value, answer.source  # "llm" | "fallback"
    answer.unavailable  # True: no LLM worker answered (the fallback stands in)
"""

from __future__ import annotations

import contextvars
import importlib.util
import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Generic, TypeVar

import json_repair
from celery import current_app
from celery.exceptions import TimeoutError as ResultTimeout
from django.conf import settings

from workers import queues
from workers.llm_provider import ProviderError, complete, describe_error

logger = logging.getLogger(__name__)

T = TypeVar("T")

TEMPERATURE = 0.1
_FENCED_JSON = re.compile(r"```json\s*\n?(.*?)```", re.DOTALL | re.IGNORECASE)
_FENCED_ANY = re.compile(r"```[\w-]*\s*\n?(.*?)```", re.DOTALL)
# Set by `inline_calls()`: this process calls the provider itself.
_inline = contextvars.ContextVar("llm_inline", default=False)


class LlmFailed(Exception):
    """No usable answer after the bounded attempts (the message says why)."""


class LlmUnavailable(LlmFailed):
    """No LLM worker answered within the wait; asking again would wait as long."""


@dataclass
class LlmAnswer(Generic[T]):
    value: T
    source: str  # "llm" | "fallback"
    attempts: int = 0
    error: str | None = None
    # No LLM worker answered: further prompts now would each wait as long for nothing.
    unavailable: bool = False


def llm_configured() -> bool:
    return bool(settings.LLM_API_KEY)


@contextmanager
def inline_calls() -> Iterator[None]:
    """Call the provider from this process (a foreground `manage.py run` has no LLM
    worker to wait for)."""
    token = _inline.set(True)
    try:
        yield
    finally:
        _inline.reset(token)


def model_name() -> str:
    """The litellm model; an `LLM_API_BASE` is called as an OpenAI-compatible endpoint."""
    model = settings.LLM_MODEL
    if settings.LLM_API_BASE:
        if model.startswith("openai/"):
            return model
        if model.startswith("openrouter/"):
            model = model[len("openrouter/") :]
        return "openai/" + model
    return model


@cache
def _encoding():
    """tiktoken's gpt-4 encoding (cl100k_base), the one the prompt budgets are counted in.

    Read from the copy litellm ships, found without importing litellm, so counting works
    offline and costs this process the tokenizer alone.
    """
    spec = importlib.util.find_spec("litellm")
    if spec and spec.submodule_search_locations:
        bundled = Path(next(iter(spec.submodule_search_locations)))
        os.environ.setdefault(
            "TIKTOKEN_CACHE_DIR", str(bundled / "litellm_core_utils" / "tokenizers")
        )
    import tiktoken  # here, once the cache directory is set: tiktoken reads it on load

    return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    """Tokens of `text` in the gpt-4 encoding (words × 1.3 if the tokenizer fails)."""
    if not text:
        return 0
    try:
        return len(_encoding().encode(text, disallowed_special=()))
    except Exception:  # noqa: BLE001 - any tokenizer failure falls back to the estimate
        return int(len(text.split()) * 1.3) + 1


# ---------------------------------------------------------------------- parsing
def _first_balanced(text: str) -> str | None:
    """The first balanced {...} or [...] in text, honouring JSON strings."""
    for start, char in enumerate(text):
        if char not in "{[":
            continue
        stack: list[str] = []
        in_string = escaped = False
        for i in range(start, len(text)):
            c = text[i]
            if in_string:
                if escaped:
                    escaped = False
                elif c == "\\":
                    escaped = True
                elif c == '"':
                    in_string = False
                continue
            if c == '"':
                in_string = True
            elif c in "{[":
                stack.append("}" if c == "{" else "]")
            elif c in "}]":
                if not stack or stack.pop() != c:
                    break
                if not stack:
                    return text[start : i + 1]
        return None
    return None


def parse_json_answer(text: str) -> Any:
    """Strict → fenced block → first balanced array/object → json-repair; ValueError."""
    text = (text or "").strip()
    if not text:
        raise ValueError("empty answer")
    candidates = [text]
    fenced = _FENCED_JSON.search(text) or _FENCED_ANY.search(text)
    if fenced:
        candidates.append(fenced.group(1).strip())
    balanced = _first_balanced(text)
    if balanced:
        candidates.append(balanced)
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    # Slightly malformed (trailing commas, single quotes, cut off): repair the most
    # specific candidate; anything that does not become an object/array is garbage.
    for candidate in reversed(candidates):
        if not candidate.lstrip().startswith(("{", "[")):
            continue
        try:
            repaired = json_repair.loads(candidate)
        except Exception:  # noqa: BLE001, S112 - the repair library may raise anything
            continue
        if isinstance(repaired, dict | list) and repaired:
            return repaired
    raise ValueError("no JSON object or array in the answer")


# ---------------------------------------------------------------------- calls
def build_message(*, task: str, prompt: str, shape: str) -> str:
    return f"task: {task}\n{prompt.strip()}\n\nAnswer with JSON only, shaped like: {shape}"


def _complete(*, task: str, content: str) -> str:
    call = {
        "task": task,
        "model": model_name(),
        "content": content,
        "temperature": TEMPERATURE,
        "timeout": settings.LLM_TIMEOUT_SECONDS,
        "api_base": settings.LLM_API_BASE,
    }
    if _inline.get() or not settings.LLM_WORKER:
        return complete(**call, api_key=settings.LLM_API_KEY)
    return _complete_on_llm_worker(call)


def _complete_on_llm_worker(call: dict[str, Any]) -> str:
    """Send the call to the `llm` queue and wait for the LLM worker's answer."""
    app = current_app  # the project's Celery app (config.celery sets it as current)
    wait = settings.LLM_TIMEOUT_SECONDS + settings.LLM_QUEUE_WAIT_SECONDS
    # Expires with the wait: a worker that gets to it later drops it, answering nobody.
    result = app.send_task(
        "llm.complete", kwargs=call, queue=queues.LLM, expires=wait, ignore_result=False
    )
    try:
        # The LLM worker consumes only `llm`, never this process's queues, so waiting
        # here cannot deadlock a pool on itself (what Celery's guard is for).
        answer = result.get(timeout=wait, disable_sync_subtasks=False)
    except ResultTimeout:
        raise LlmUnavailable(f"no LLM worker answered within {wait}s") from None
    finally:
        result.forget()
    if "error" in answer:
        raise ProviderError(answer["error"])
    return answer["text"]


def llm_json(
    *,
    task: str,
    prompt: str,
    shape: str,
    validate: Callable[[Any], T],
    fallback: Callable[[], T],
    fallback_on_failure: bool = False,
    max_attempts: int = 3,
) -> LlmAnswer[T]:
    """Ask for JSON shaped like `shape`; `validate` turns it into T or raises ValueError."""
    if not llm_configured():
        return LlmAnswer(value=fallback(), source="fallback", attempts=0)
    content = build_message(task=task, prompt=prompt, shape=shape)
    error = "no attempt"
    unavailable = False
    for attempt in range(1, max(1, max_attempts) + 1):
        try:
            text = _complete(task=task, content=content)
        except LlmUnavailable as exc:
            error, unavailable = str(exc), True
            logger.warning("llm.error task=%s attempt=%d error=%s", task, attempt, error)
            break
        except Exception as exc:  # noqa: BLE001 - provider errors are many; all retryable here
            error = (
                str(exc)
                if isinstance(exc, ProviderError)
                else describe_error(exc, api_key=settings.LLM_API_KEY)
            )
            # Asked again at once: waiting is the calling task's job (workers.retry).
            logger.warning("llm.error task=%s attempt=%d error=%s", task, attempt, error)
            continue
        try:
            value = validate(parse_json_answer(text))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            error = f"unusable answer: {exc}"
            logger.warning("llm.bad_answer task=%s attempt=%d error=%s", task, attempt, exc)
            continue
        return LlmAnswer(value=value, source="llm", attempts=attempt)
    tries = f"{attempt} attempt" + ("s" if attempt != 1 else "")
    message = f"LLM task {task} failed after {tries}: {error}"
    if fallback_on_failure:
        logger.warning("llm.fallback task=%s error=%s", task, error)
        return LlmAnswer(
            value=fallback(),
            source="fallback",
            attempts=attempt,
            error=message,
            unavailable=unavailable,
        )
    raise (LlmUnavailable if unavailable else LlmFailed)(message)


__all__ = [
    "LlmAnswer",
    "LlmFailed",
    "LlmUnavailable",
    "count_tokens",
    "inline_calls",
    "llm_configured",
    "llm_json",
]
