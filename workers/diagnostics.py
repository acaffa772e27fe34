"""Hourly diagnostics: one structured log line and a stored snapshot.

The worker and machine figures are measured here; the product's own figures (accounts
processed, repos by status, stargazers found) come from the app that owns them, which
registers a source in its `AppConfig.ready()`:

    diagnostics_source_register(fn)  # fn(since: datetime | None) -> {snapshot field: value}
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from workers import health
from workers.github import github
from workers.models import DiagnosticsSnapshot

logger = logging.getLogger(__name__)

_sources: list[Callable[[datetime | None], dict[str, Any]]] = []


def diagnostics_source_register(fn: Callable[[datetime | None], dict[str, Any]]) -> None:
    """Add product figures to every snapshot: `fn(since)` returns snapshot fields
    (`accounts_processed_total`, `accounts_processed_period` since the last snapshot,
    `repos_by_status`, `stargazers_found`)."""
    if fn not in _sources:
        _sources.append(fn)


def diagnostics_record() -> DiagnosticsSnapshot:
    """Measure the hourly figures (workers, machine, product), store them and log them."""
    now = timezone.now()
    previous = DiagnosticsSnapshot.objects.order_by("-taken_at").first()
    period_start = previous.taken_at if previous else None
    period_seconds = int((now - period_start).total_seconds()) if period_start else 0
    hours = period_seconds / 3600 if period_seconds else 0

    product: dict[str, Any] = {}
    for source in _sources:
        product.update(source(period_start))
    in_period = product.get("accounts_processed_period", 0)
    workers, depths, usage, budget = _machine_figures()
    snapshot = DiagnosticsSnapshot.objects.create(
        period_seconds=period_seconds,
        accounts_processed_total=product.get("accounts_processed_total", 0),
        accounts_processed_period=in_period,
        accounts_per_hour=round(in_period / hours, 2) if hours else 0.0,
        workers_total=workers["total"],
        workers_active=workers["active"],
        workers_idle=workers["idle"],
        queue_depths=depths,
        cpu_percent=usage["cpu_usage"],
        memory_percent=usage["memory_usage_percent"],
        memory_used_mb=usage["memory_used_mb"],
        memory_total_mb=usage["memory_total_mb"],
        repos_by_status=product.get("repos_by_status", {}),
        stargazers_found=product.get("stargazers_found", 0),
        deadline_seconds=settings.STARGAZER_TASK_DEADLINE_SECONDS,
        github_budget=budget,
    )
    _log(snapshot, hours=hours, workers=workers, usage=usage)
    return snapshot


def _machine_figures() -> tuple[dict, dict, dict, dict]:
    """Workers, queue depths, CPU and memory, and the GitHub budget; what cannot be read
    (Redis away) counts as nothing rather than failing the snapshot."""
    try:
        workers = health.worker_snapshot(timeout=1.0)
        depths = health.queue_depths()
    except Exception:
        logger.warning("diagnostics.broker_unreachable", exc_info=True)
        workers, depths = {"total": 0, "active": 0, "idle": 0}, {}
    usage = health.system_usage()
    try:
        budget = github_budget_summary()
    except Exception:
        logger.warning("diagnostics.github_budget_unreadable", exc_info=True)
        budget = {}
    return workers, depths, usage, budget


def _log(snapshot: DiagnosticsSnapshot, *, hours: float, workers: dict, usage: dict) -> None:
    """One structured line whatever the log formatter: the figures as JSON in the message."""
    figures = {
        "hours_since_last": round(hours, 2),
        "accounts_total": snapshot.accounts_processed_total,
        "accounts_period": snapshot.accounts_processed_period,
        "accounts_per_hour": snapshot.accounts_per_hour,
        "workers": workers,
        "queue_depths": snapshot.queue_depths,
        "deadline_seconds": snapshot.deadline_seconds,
        **usage,
        "repos_by_status": snapshot.repos_by_status,
        "stargazers_found": snapshot.stargazers_found,
        "github_budget": snapshot.github_budget,
    }
    logger.info(
        "diagnostics.hourly %s",
        json.dumps(figures, sort_keys=True, default=str),
        extra={"diagnostics": figures},
    )


def github_budget_summary() -> dict:
    """The server pool's GitHub budget, summed over its tokens, from what Redis knows.

    `{"tokens", "sent_last_hour", "core": {"limit", "remaining", "used", "known"},
    "graphql": {...}}`; `known` counts the tokens GitHub has reported on.
    """
    rows = github().pool_budgets()
    out: dict = {"tokens": len({row["token"] for row in rows})}
    sent: dict[str, int] = {}
    for row in rows:
        resource = out.setdefault(
            row["resource"], {"limit": 0, "remaining": 0, "used": 0, "known": 0}
        )
        if row["limit"] is not None:
            resource["limit"] += row["limit"]
            resource["remaining"] += row["remaining"] or 0
            resource["used"] += row["used"] or 0
            resource["known"] += 1
        # Our own ceiling counts every request of a token, whatever the resource.
        sent[row["token"]] = row["sent_last_hour"]
    out["sent_last_hour"] = sum(sent.values())
    return out
