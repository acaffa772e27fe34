"""The LLM gateway: the only module that calls litellm.

Every prompt declares the JSON shape it expects. Answers are parsed the seed's robust
way (strict JSON, then a fenced block, then the first balanced array/object), repaired
with json-repair when slightly malformed, validated by the caller, and retried a bounded
number of times. Without a key each caller's deterministic fallback runs instead, so the
rest of the system works unchanged.

    answer = llm_json(
        task="repo_kind",
        prompt="...",
        shape='{"kind": str}',
        validate=lambda v: v["kind"],
        fallback=lambda: "library",
    )
    answer.value, answer.source  # "llm" | "fallback"
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import json_repair
from django.conf import settings

logger = logging.getLogger(__name__)

T = TypeVar("T")

# litellm would otherwise fetch its model price map from the internet at import.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

TEMPERATURE = 0.1
_FENCED_JSON = re.compile(r"```json\s*\n?(.*?)```", re.DOTALL | re.IGNORECASE)
_FENCED_ANY = re.compile(r"```[\w-]*\s*\n?(.*?)```", re.DOTALL)


class LlmFailed(Exception):
    """No usable answer after the bounded attempts (the message says why)."""


@dataclass
class LlmAnswer(Generic[T]):
    value: T
    source: str  # "llm" | "fallback"
    attempts: int = 0
    error: str | None = None


def llm_configured() -> bool:
    return bool(settings.LLM_API_KEY)


def _litellm():
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    return litellm


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


def count_tokens(text: str) -> int:
    """Tokens of `text` (litellm's bundled tiktoken data; words × 1.3 if that fails)."""
    if not text:
        return 0
    try:
        return int(_litellm().token_counter(model=model_name(), text=text))
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
    litellm = _litellm()
    started = time.monotonic()
    kwargs: dict[str, Any] = {
        "model": model_name(),
        "messages": [{"role": "user", "content": content}],
        "temperature": TEMPERATURE,
        "timeout": settings.LLM_TIMEOUT_SECONDS,
        "api_key": settings.LLM_API_KEY,
        "max_retries": 0,
    }
    if settings.LLM_API_BASE:
        kwargs["api_base"] = settings.LLM_API_BASE
    response = litellm.completion(**kwargs)
    latency = time.monotonic() - started
    usage = getattr(response, "usage", None)
    try:
        cost = float(litellm.completion_cost(completion_response=response) or 0.0)
    except Exception:  # noqa: BLE001 - unknown models have no price
        cost = 0.0
    logger.info(
        "llm.call task=%s model=%s prompt_tokens=%s completion_tokens=%s latency_ms=%d "
        "cost_usd=%.6f",
        task,
        kwargs["model"],
        getattr(usage, "prompt_tokens", None),
        getattr(usage, "completion_tokens", None),
        latency * 1000,
        cost,
    )
    return response.choices[0].message.content or ""


def _describe(exc: Exception) -> str:
    # Provider errors can echo request details; keep the class and a short message.
    text = str(exc).replace(settings.LLM_API_KEY or "\0", "***")
    return f"{type(exc).__name__}: {text[:300]}"


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
    for attempt in range(1, max(1, max_attempts) + 1):
        try:
            text = _complete(task=task, content=content)
        except Exception as exc:  # noqa: BLE001 - provider errors are many; all retryable here
            error = _describe(exc)
            logger.warning("llm.error task=%s attempt=%d error=%s", task, attempt, error)
            if attempt < max_attempts:
                time.sleep(min(4.0, 0.5 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5))  # noqa: S311 - jitter
            continue
        try:
            value = validate(parse_json_answer(text))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            error = f"unusable answer: {exc}"
            logger.warning("llm.bad_answer task=%s attempt=%d error=%s", task, attempt, exc)
            continue
        return LlmAnswer(value=value, source="llm", attempts=attempt)
    message = f"LLM task {task} failed after {max_attempts} attempts: {error}"
    if fallback_on_failure:
        logger.warning("llm.fallback task=%s error=%s", task, error)
        return LlmAnswer(value=fallback(), source="fallback", attempts=max_attempts, error=message)
    raise LlmFailed(message)


__all__ = ["LlmAnswer", "LlmFailed", "count_tokens", "llm_configured", "llm_json"]
