"""The star graph's share of the hourly diagnostics: its figures, and the history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Sum

from stargazers.models import StargazerCrawl
from stargazers.selectors.accounts import accounts_processed
from stargazers.selectors.crawls import repos_by_status
from workers.models import DiagnosticsSnapshot

HISTORY_FIELDS = (
    "taken_at",
    "accounts_processed_period",
    "accounts_per_hour",
    "workers_total",
    "workers_active",
    "queue_depths",
    "cpu_percent",
    "memory_percent",
    "repos_by_status",
    "stargazers_found",
    "github_budget",
)


def diagnostics_figures(since: datetime | None) -> dict[str, Any]:
    """The star graph's figures of a diagnostics snapshot (accounts since `since`)."""
    accounts = accounts_processed()
    total = accounts.count()
    return {
        "accounts_processed_total": total,
        "accounts_processed_period": (
            accounts.filter(starred_sync__synced_at__gt=since).count() if since else total
        ),
        "repos_by_status": repos_by_status(),
        "stargazers_found": StargazerCrawl.objects.aggregate(n=Sum("stargazers_stored"))["n"] or 0,
    }


def diagnostics_history(*, limit: int = 24) -> list[dict[str, Any]]:
    return list(DiagnosticsSnapshot.objects.order_by("-taken_at").values(*HISTORY_FIELDS)[:limit])
