"""The statistics the admin API and `stargazers_status` answer with."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from stargazers.models import StarEdge, StargazerCrawl
from stargazers.selectors.accounts import accounts_processed_total
from stargazers.selectors.crawls import repos_by_status, stargazers_paused
from users.models import GitHubUser
from workers import health

Status = StargazerCrawl.Status


def database_stats() -> dict[str, int]:
    """Crawl rows by status, stargazers stored, users known and star edges (estimated)."""
    by_status = repos_by_status()
    stored = StargazerCrawl.objects.aggregate(n=Sum("stargazers_stored"))["n"] or 0
    return {
        "total_repos": sum(by_status.values()),
        "completed_repos": by_status[Status.COMPLETED],
        "failed_repos": by_status[Status.FAILED],
        "processing_repos": by_status[Status.PROCESSING],
        "pending_repos": by_status[Status.PENDING],
        "rate_limited_repos": by_status[Status.RATE_LIMITED],
        "pagination_limited_repos": by_status[Status.PAGINATION_LIMITED],
        "restricted_repos": by_status[Status.RESTRICTED],
        "total_stargazers": stored,
        "total_github_users": GitHubUser.objects.count(),
        # pg's estimate: counting millions of edges exactly on every call is slow.
        "total_star_edges_estimate": _estimate_rows(StarEdge._meta.db_table),
    }


def _estimate_rows(table: str) -> int:
    """Rows in `table` without counting them.

    After an ANALYZE, pg's own estimate: `reltuples` scaled by how the table grew since
    (the planner's rule). Before the first ANALYZE `reltuples` is -1, so the statistics
    collector's live-row count answers instead.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.reltuples, c.relpages,
                   pg_relation_size(c.oid) / current_setting('block_size')::bigint,
                   pg_stat_get_live_tuples(c.oid)
            FROM pg_class c WHERE c.oid = to_regclass(%s)
            """,
            [table],
        )
        row = cursor.fetchone()
    if not row:
        return 0
    reltuples, relpages, pages, live = row
    if reltuples > 0 and relpages > 0:
        return max(round(reltuples / relpages * pages), 0)
    return max(int(live or 0), 0)


def processing_stats(*, timeout: float = 1.0) -> dict[str, Any]:
    """Accounts processed, queue depth, workers, CPU and memory, and the pause switch."""
    usage = health.system_usage()
    try:
        workers = health.worker_snapshot(timeout=timeout)
        depths = health.queue_depths()
    except Exception:  # noqa: BLE001 - broker away: report zeros, health says why
        workers, depths = {"total": 0, "active": 0, "idle": 0}, {}
    return {
        "total_accounts_processed": accounts_processed_total(),
        "queue_depth": sum(depths.values()),
        "active_workers": workers["active"],
        "current_worker_count": workers["total"],
        "idle_workers": workers["idle"],
        "queue_depths": depths,
        "cpu_usage": usage["cpu_usage"],
        "memory_usage_percent": usage["memory_usage_percent"],
        "memory_used_mb": usage["memory_used_mb"],
        "memory_total_mb": usage["memory_total_mb"],
        "paused": stargazers_paused(),
    }


def processing_rate_per_hour() -> float:
    """Repos finished (any terminal status) in the last hour."""
    since = timezone.now() - timedelta(hours=1)
    return float(
        StargazerCrawl.objects.filter(
            completed_at__gte=since, status__in=[Status.COMPLETED, Status.PAGINATION_LIMITED]
        ).count()
    )


def workers_detail(*, timeout: float = 1.0) -> list[dict[str, Any]]:
    """Each live worker's pool: processes, configured maximum, autoscale range."""
    try:
        workers = health.workers_alive(timeout=timeout)
    except Exception:  # noqa: BLE001 - broker away: no detail, /health says why
        return []
    return [
        {
            "name": w["hostname"],
            "processes": (w.get("pool") or {}).get("processes") or 0,
            "max_concurrency": (w.get("pool") or {}).get("max_concurrency"),
            "autoscaler": w.get("autoscaler"),
            "queues": w.get("queues") or [],
            "running_tasks": w.get("active") or 0,
        }
        for w in workers
    ]
