"""The retry policy: backoff bounds, what waits on a row, what a task retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from celery import shared_task
from django.core.exceptions import ImproperlyConfigured

from tests.test_settings import load_settings
from workers import retry
from workers.github import errors as gh_errors


def test_backoff_grows_with_jitter_and_stays_under_the_cap():
    first = [retry.backoff(1) for _ in range(50)]
    assert all(4.0 <= s <= 6.0 for s in first)
    assert len(set(first)) > 1  # jittered
    assert all(retry.backoff(n) <= retry.BACKOFF_MAX_SECONDS * 1.2 for n in range(1, 30))
    assert retry.backoff(3) > retry.backoff(1) * 2


def test_rate_limits_wait_on_the_row_short_secondary_limits_retry():
    reset = datetime.now(UTC) + timedelta(hours=1)
    limited = gh_errors.RateLimited(reset_at=reset)
    assert retry.wait_until(limited) == reset
    assert retry.short_wait(limited) is None

    short = gh_errors.SecondaryRateLimited(retry_after=60)
    assert 61 <= retry.short_wait(short) <= 65
    long = gh_errors.SecondaryRateLimited(retry_after=900)
    assert retry.short_wait(long) is None
    assert retry.wait_until(long) > datetime.now(UTC) + timedelta(seconds=899)

    assert retry.wait_until(gh_errors.Transient("502")) is None
    assert retry.short_wait(gh_errors.NotFound("404")) is None


def test_retry_later_never_counts_down_past_the_cap():
    assert retry.RetryLater(3300).countdown == retry.BACKOFF_MAX_SECONDS
    assert retry.RetryLater(-1).countdown == 0


def test_transient_retry_options_are_bounded():
    options = retry.transient_retry()
    assert options["max_retries"] == retry.MAX_RETRIES
    assert options["retry_backoff_max"] == retry.BACKOFF_MAX_SECONDS
    assert gh_errors.Transient in options["autoretry_for"]
    with pytest.raises(ValueError):
        retry.transient_retry(max_retries=None)
    with pytest.raises(ValueError):
        retry.transient_retry(max_retries=8)


calls: list[int] = []


@shared_task(
    name="workers.flaky_for_test",
    soft_time_limit=5,
    time_limit=10,
    **retry.transient_retry(retry_backoff=False),
)
def _flaky() -> str:
    calls.append(1)
    if len(calls) < 3:
        raise gh_errors.Transient("HTTP 502")
    return "done"


def test_a_task_retries_transient_errors_then_succeeds():
    calls.clear()
    result = _flaky.apply()
    assert result.get() == "done" and len(calls) == 3


def test_a_task_gives_up_after_the_bound():
    calls.clear()
    # Already retried MAX_RETRIES times: the transient error is the task's result now.
    result = _flaky.apply(retries=retry.MAX_RETRIES)
    assert result.failed() and isinstance(result.result, gh_errors.Transient)
    assert len(calls) == 1


RETRY_SETTINGS = {
    "GITHUB_RETRIES": 3,
    "GITHUB_RETRY_BACKOFF_SECONDS": 1.0,
    "GITHUB_RETRY_WAIT_MAX_SECONDS": 10.0,
    "PIPELINE_TRANSIENT_HORIZON_SECONDS": 6 * 3600,
    "PIPELINE_TRANSIENT_BACKOFF_SECONDS": 30.0,
    "PIPELINE_TRANSIENT_BACKOFF_MAX_SECONDS": 1800.0,
}


def test_retry_settings_default_to_seconds_in_a_call_and_hours_on_the_row(monkeypatch):
    for name in RETRY_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    loaded = load_settings(monkeypatch)
    assert {name: loaded[name] for name in RETRY_SETTINGS} == RETRY_SETTINGS


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GITHUB_RETRIES", "-1"),
        ("GITHUB_RETRIES", "some"),
        ("GITHUB_RETRY_BACKOFF_SECONDS", "fast"),
        ("PIPELINE_TRANSIENT_HORIZON_SECONDS", "0"),
        ("PIPELINE_TRANSIENT_BACKOFF_MAX_SECONDS", "-5"),
    ],
)
def test_retry_settings_refuse_malformed_values(monkeypatch, name, value):
    with pytest.raises(ImproperlyConfigured):
        load_settings(monkeypatch, **{name: value})
