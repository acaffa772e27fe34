"""The one place litellm is called: a single chat completion, and nothing else.

It imports neither Django nor Celery, so the LLM worker (`workers.llm_worker`) can run
it without either, and `workers.llm` can run it in-process. litellm and the OpenAI types
it loads cost about 160 MiB per process; importing it lazily here keeps every process
that never calls it that much smaller.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

logger = logging.getLogger("workers.llm")

# litellm would otherwise fetch its model price map from the internet at import.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


class ProviderError(Exception):
    """The provider call failed; the message is safe to log and store."""


def _litellm():
    import litellm  # heavy (160 MiB): loaded only by a process that calls the provider

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    return litellm


def describe_error(exc: BaseException, *, api_key: str | None) -> str:
    # Provider errors can echo request details; keep the class and a short message.
    text = str(exc)
    if api_key:
        text = text.replace(api_key, "***")
    return f"{type(exc).__name__}: {text[:300]}"


def complete(
    *,
    task: str,
    model: str,
    content: str,
    temperature: float,
    timeout: float,
    api_key: str | None,
    api_base: str | None = None,
) -> str:
    """The text of one completion of a single user message; ProviderError on failure."""
    litellm = _litellm()
    started = time.monotonic()
    kwargs: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": content}],
        "temperature": temperature,
        "timeout": timeout,
        "api_key": api_key,
        # Retries belong to the caller, which also re-asks on unusable answers.
        "max_retries": 0,
    }
    if api_base:
        kwargs["api_base"] = api_base
    try:
        response = litellm.completion(**kwargs)
    except Exception as exc:  # noqa: BLE001 - provider errors are many; the caller retries
        raise ProviderError(describe_error(exc, api_key=api_key)) from None
    usage = getattr(response, "usage", None)
    try:
        cost = float(litellm.completion_cost(completion_response=response) or 0.0)
    except Exception:  # noqa: BLE001 - unknown models have no price
        cost = 0.0
    logger.info(
        "llm.call task=%s model=%s prompt_tokens=%s completion_tokens=%s latency_ms=%d "
        "cost_usd=%.6f",
        task,
        model,
        getattr(usage, "prompt_tokens", None),
        getattr(usage, "completion_tokens", None),
        (time.monotonic() - started) * 1000,
        cost,
    )
    return response.choices[0].message.content or ""
