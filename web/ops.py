"""The operations page's figures: the selectors the admin API reads, and the plots of
the stored diagnostics history (throughput, GitHub budget, repos by status, queues)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.safestring import mark_safe

from stargazers.models import StargazerCrawl
from stargazers.selectors import admin_stats, crawls
from stargazers.selectors.diagnostics import diagnostics_history
from web.charts import Series, line_chart_svg
from workers import diagnostics

HISTORY = 168  # snapshots: a week of hourly diagnostics


def ops_context() -> dict[str, Any]:
    stats = admin_stats.processing_stats()
    by_status = crawls.repos_by_status()
    try:
        budget = diagnostics.github_budget_summary()
    except Exception:  # noqa: BLE001 - Redis away: the page still shows the rest
        budget = {}
    history = list(reversed(diagnostics_history(limit=HISTORY)))
    return {
        "stats": stats,
        "paused": stats["paused"],
        "by_status": [
            {"status": status, "count": by_status.get(status, 0)}
            for status in StargazerCrawl.Status.values
        ],
        "repos_total": sum(by_status.values()),
        "queues": sorted(stats["queue_depths"].items()),
        "workers": admin_stats.workers_detail(),
        "budget": _budget_rows(budget),
        "budget_sent": budget.get("sent_last_hour"),
        "budget_tokens": budget.get("tokens"),
        "plots": _plots(history),
        "snapshots": len(history),
        "flower_url": settings.FLOWER_URL,
    }


def _budget_rows(budget: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for resource in ("core", "graphql"):
        figures = budget.get(resource)
        if not figures:
            continue
        limit = figures.get("limit") or 0
        rows.append(
            {
                "resource": resource,
                **figures,
                "used_percent": round(100 * (figures.get("used") or 0) / limit, 1)
                if limit
                else None,
            }
        )
    return rows


def _plots(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One plot per question an operator asks of the history, each with its legend."""
    if not history:
        return []
    span = (f"{history[0]['taken_at']:%d %b %H:%M}", f"{history[-1]['taken_at']:%d %b %H:%M}")
    return [_plot(key, title, series, span) for key, title, series in _questions(history)]


def _questions(history: list[dict[str, Any]]) -> list[tuple[str, str, list[Series]]]:
    """(key, title, series) of each plot: throughput, GitHub budget, repos, queues."""
    times = [row["taken_at"].timestamp() for row in history]

    stored_per_hour = []
    for before, after, t in zip(history, history[1:], times[1:], strict=False):
        hours = (after["taken_at"] - before["taken_at"]).total_seconds() / 3600
        if hours > 0:
            grown = max(0, (after["stargazers_found"] or 0) - (before["stargazers_found"] or 0))
            stored_per_hour.append((t, grown / hours))
    throughput = [
        Series("stargazers stored per hour", stored_per_hour),
        Series(
            "accounts processed per hour",
            [
                (t, float(row["accounts_per_hour"] or 0))
                for t, row in zip(times, history, strict=True)
            ],
        ),
    ]

    budget_series = []
    for resource in ("core", "graphql"):
        points = []
        for t, row in zip(times, history, strict=True):
            figures = (row.get("github_budget") or {}).get(resource) or {}
            if figures.get("limit"):
                points.append((t, 100.0 * (figures.get("used") or 0) / figures["limit"]))
        budget_series.append(Series(f"{resource} budget used (%)", points))

    queue_names = sorted({name for row in history for name in (row["queue_depths"] or {})})
    return [
        ("throughput", "Throughput", throughput),
        ("budget", "GitHub budget used", budget_series),
        (
            "repos",
            "Repos by status",
            [
                _count_series(times, history, "repos_by_status", status)
                for status in StargazerCrawl.Status.values
            ],
        ),
        (
            "queues",
            "Queue depths",
            [_count_series(times, history, "queue_depths", name) for name in queue_names],
        ),
    ]


def _count_series(
    times: list[float], history: list[dict[str, Any]], field: str, name: str
) -> Series:
    """The count `name` of the per-name counts in `field`, over the history."""
    counts = [row[field] or {} for row in history]
    return Series(name, [(t, float(c.get(name, 0))) for t, c in zip(times, counts, strict=True)])


def _plot(key: str, title: str, series: list[Series], span: tuple[str, str]) -> dict[str, Any]:
    """One drawn plot and its legend (each series' label, colour index and last value)."""
    svg = line_chart_svg(series, label=_label(title, series, span), x_labels=span)
    return {
        "key": key,
        "title": title,
        "svg": mark_safe(svg),  # noqa: S308 - built from escaped parts
        "legend": [
            {"label": s.label, "index": i % 8, "last": s.points[-1][1] if s.points else None}
            for i, s in enumerate(series)
        ],
    }


def _label(title: str, series: list[Series], span: tuple[str, str]) -> str:
    latest = ", ".join(f"{s.label} {s.points[-1][1]:.0f}" for s in series if s.points)
    return f"{title} from {span[0]} to {span[1]}" + (f"; latest: {latest}" if latest else "")
