"""The one retry policy of Gazer's Celery tasks.

- Transient errors (the gateway's timeouts, connection errors and 5xx; database
  deadlocks and serialization failures; Redis out of reach) are retried by Celery with
  exponential backoff and jitter, at most `MAX_RETRIES` times, never waiting more than
  `BACKOFF_MAX_SECONDS`: `shared_task(..., **transient_retry())`, or `RetryLater(backoff(n))`
  where a service records the attempt on its row first.
- A rate limit is not a retry: the work row gets `not_before = wait_until(exc)` and the
  beat sweep enqueues it when due (a countdown past Redis's `visibility_timeout` would
  be delivered twice). Only a short secondary limit (`short_wait(exc)`, at most
  `SHORT_WAIT_MAX_SECONDS`) is retried by a countdown.
- Seconds inside a call are right, minutes and hours are rows: the GitHub gateway asks
  a transient answer again a few times within the call (about 1, 3, 9 s, or the
  server's `Retry-After`); what is left reaches the task. A profile step then waits on
  its row (`row_backoff`, growing up to PIPELINE_TRANSIENT_BACKOFF_MAX_SECONDS) until its
  run passes PIPELINE_TRANSIENT_HORIZON_SECONDS; the LLM gateway asks again at once;
  the page writer redoes its transaction at once.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import OperationalError
from django.utils import timezone
from redis import exceptions as redis_errors

from workers.github import errors as gh_errors

MAX_RETRIES = 5
BACKOFF_SECONDS = 5  # the first retry comes after about this long
BACKOFF_MAX_SECONDS = 300  # no retry waits longer; longer waits are a row's not_before
SHORT_WAIT_MAX_SECONDS = 300  # a secondary limit up to this is a countdown, longer a row wait

# Worth a bounded retry: they pass by themselves (a Redis restarting answers again in
# seconds; the rows, not Redis, hold the work).
REDIS_ERRORS: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
)
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    gh_errors.Transient,
    OperationalError,
    *REDIS_ERRORS,
)
# The database's own passing trouble (no connection to be had, a deadlock): a task that
# meets it before it could record anything on its row retries in seconds.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (OperationalError,)
RATE_LIMITS: tuple[type[BaseException], ...] = (
    gh_errors.RateLimited,
    gh_errors.SecondaryRateLimited,
)


class RetryLater(Exception):
    """Raised by a service: the task should retry itself after `countdown` seconds."""

    def __init__(self, countdown: float):
        self.countdown = min(max(0.0, countdown), BACKOFF_MAX_SECONDS)
        super().__init__(f"retry in {self.countdown:.0f}s")


def backoff(retries: int) -> float:
    """Seconds before retry number `retries` (1, 2, ...): exponential, jittered, capped."""
    base = BACKOFF_SECONDS * 2 ** max(0, retries - 1)
    return min(BACKOFF_MAX_SECONDS, base) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter


def row_backoff(failures: int) -> float:
    """Seconds a work row waits after its `failures`-th transient failure (1, 2, ...):
    PIPELINE_TRANSIENT_BACKOFF_SECONDS doubling, capped, jittered."""
    base = settings.PIPELINE_TRANSIENT_BACKOFF_SECONDS * 2 ** max(0, failures - 1)
    cap = settings.PIPELINE_TRANSIENT_BACKOFF_MAX_SECONDS
    return min(cap, base) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter


def transient_retry(**overrides: Any) -> dict[str, Any]:
    """`shared_task` options: autoretry the transient errors with the policy's backoff."""
    options: dict[str, Any] = {
        "autoretry_for": TRANSIENT_ERRORS,
        "retry_backoff": BACKOFF_SECONDS,
        "retry_backoff_max": BACKOFF_MAX_SECONDS,
        "retry_jitter": True,
        "max_retries": MAX_RETRIES,
    }
    options.update(overrides)
    if options["max_retries"] is None or options["max_retries"] > MAX_RETRIES:
        raise ValueError(f"max_retries must be at most {MAX_RETRIES}")
    return options


def short_wait(exc: BaseException) -> float | None:
    """A countdown for a secondary limit short enough to retry; None otherwise."""
    if isinstance(exc, gh_errors.SecondaryRateLimited) and (
        exc.retry_after <= SHORT_WAIT_MAX_SECONDS
    ):
        return min(exc.retry_after + random.uniform(1, 5), BACKOFF_MAX_SECONDS)  # noqa: S311
    return None


def wait_until(exc: BaseException) -> datetime | None:
    """When rate-limited work may run again (its row's `not_before`); None otherwise."""
    if isinstance(exc, gh_errors.RateLimited):
        return exc.reset_at
    if isinstance(exc, gh_errors.SecondaryRateLimited):
        return timezone.now() + timedelta(seconds=exc.retry_after + random.uniform(1, 5))  # noqa: S311
    return None
