"""Reads of the star graph shaped for the APIs, commands and diagnostics."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from repos import selectors as repo_selectors
from repos.errors import InvalidRepoName, RepoNotFound
from repos.models import Repo
from stargazers import errors
from stargazers.models import AccountStarSignals, StarEdge, StargazerCrawl, StarHistoryDay
from users import selectors as user_selectors
from users.errors import UserNotFound
from users.models import GitHubUser
from workers import health
from workers.models import DiagnosticsSnapshot, QueuePause

PAUSE_NAME = "stargazers"  # the QueuePause row that pauses star-graph work

Status = StargazerCrawl.Status
STARGAZERS_PER_PAGE = 100


def repo_get(*, owner: str, name: str) -> Repo:
    return repo_selectors.repo_get(
        full_name=repo_selectors.repo_name_validate(owner=owner, name=name)
    )


def repo_resolve(*, key: str) -> Repo:
    """A repo by `owner/name` (case-insensitive) or numeric GitHub id."""
    key = (key or "").strip()
    if key.isdigit():
        repo = Repo.objects.filter(github_id=int(key)).first()
        if repo is None:
            raise RepoNotFound(f"No repository {key} in Gazer.", details={"id": key})
        return repo
    if key.count("/") != 1:
        raise InvalidRepoName(
            "A repository is named `owner/name` or by its numeric GitHub id.",
            details={"id": key},
        )
    owner, name = key.split("/")
    return repo_get(owner=owner, name=name)


def stargazers_paused() -> bool:
    return QueuePause.objects.filter(queue=PAUSE_NAME).exists()


# ------------------------------------------------------------------------- counts
def repos_by_status(queryset=None) -> dict[str, int]:
    qs = queryset if queryset is not None else StargazerCrawl.objects.all()
    found = dict(qs.values_list("status").annotate(n=Count("pk")).order_by())
    return {status: found.get(status, 0) for status in Status.values}


def database_stats() -> dict[str, int]:
    """Seed 002's `database` block of /stats (plus restricted and edge counts)."""
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


def accounts_processed_total() -> int:
    """Accounts whose star graph has been built at least once (seed 002's counter)."""
    return _accounts_processed().count()


def _accounts_processed():
    return GitHubUser.objects.filter(state=GitHubUser.State.ACTIVE, starred_synced_at__isnull=False)


def diagnostics_figures(since: datetime | None) -> dict[str, Any]:
    """The star graph's figures of a diagnostics snapshot (accounts since `since`)."""
    accounts = _accounts_processed()
    total = accounts.count()
    return {
        "accounts_processed_total": total,
        "accounts_processed_period": accounts.filter(starred_synced_at__gt=since).count()
        if since
        else total,
        "repos_by_status": repos_by_status(),
        "stargazers_found": StargazerCrawl.objects.aggregate(n=Sum("stargazers_stored"))["n"] or 0,
    }


def processing_stats(*, timeout: float = 1.0) -> dict[str, Any]:
    """Seed 002's processing stats: accounts, queue depth, workers, CPU and memory."""
    usage = health.system_usage()
    try:
        workers = health.worker_snapshot(timeout=timeout)
        depths = health.queue_depths()
    except Exception:  # noqa: BLE001 - broker away: report zeros, health says why
        workers, depths = {"total": 0, "active": 0, "idle": 0}, {}
    return {
        "total_accounts_processed": accounts_processed_total(),
        "factory_queue_depth": sum(depths.values()),
        "factory_active_workers": workers["active"],
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


def diagnostics_history(*, limit: int = 24) -> list[dict[str, Any]]:
    fields = [
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
    ]
    return list(DiagnosticsSnapshot.objects.order_by("-taken_at").values(*fields)[:limit])


# -------------------------------------------------------------------------- crawls
def crawl_row(crawl: StargazerCrawl) -> dict[str, Any]:
    """One processing row, with seed 002's field names beside ours."""
    stored = crawl.stargazers_stored
    return {
        "repo": crawl.repo.full_name,
        "github_id": crawl.repo.github_id,
        "status": crawl.status,
        "priority": crawl.get_priority_display(),
        "repo_stars": crawl.repo_stars,
        "account": crawl.account.login if crawl.account_id else None,
        "last_page_processed": -(-stored // STARGAZERS_PER_PAGE) if stored else 0,
        "total_pages": min(400, -(-crawl.repo_stars // STARGAZERS_PER_PAGE)),
        "pages_fetched": crawl.pages_fetched,
        "total_stargazers": crawl.stargazers_total,
        "processed_stargazers": stored,
        "claimed_by": crawl.claimed_by or None,
        "claimed_at": crawl.claimed_at,
        "heartbeat_at": crawl.heartbeat_at,
        "started_at": crawl.started_at,
        "completed_at": crawl.completed_at,
        "last_error": crawl.error or None,
        "error_count": crawl.error_count,
        "next_retry_after": crawl.not_before,
        "enqueued_at": crawl.enqueued_at,
        "notes": crawl.notes or None,
        "updated_at": crawl.updated_at,
    }


def crawls_list(*, status: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    """Rows newest-started first; the status filter is an ORM parameter, never SQL text."""
    qs = StargazerCrawl.objects.select_related("repo", "account")
    if status:
        qs = qs.filter(status=status)
    qs = qs.order_by(F("started_at").desc(nulls_last=True), "-updated_at", "repo_id")
    return [crawl_row(c) for c in qs[offset : offset + limit]]


def crawl_get(*, key: str) -> dict[str, Any]:
    repo = repo_resolve(key=key)
    crawl = StargazerCrawl.objects.select_related("repo", "account").filter(pk=repo.pk).first()
    if crawl is None:
        raise errors.CrawlNotFound(f"Repository {key} not found", details={"id": key})
    return crawl_row(crawl)


# --------------------------------------------------------------------- public reads
def account_progress(*, login: str) -> dict[str, Any]:
    """The account's star-graph progress: its starred repos' crawls by status."""
    # Any user the star graph knows, stargazers seen only as such included.
    user = user_selectors.user_get(login=login, discovered=True)
    starred = StarEdge.objects.filter(user=user).values("repo_id")
    crawls = StargazerCrawl.objects.filter(repo_id__in=starred)
    by_status = repos_by_status(crawls)
    stored = crawls.aggregate(n=Sum("stargazers_stored"))["n"] or 0
    total = sum(by_status.values())
    finished = sum(
        by_status[s]
        for s in (Status.COMPLETED, Status.PAGINATION_LIMITED, Status.RESTRICTED, Status.FAILED)
    )
    if user.starred_synced_at is None:
        state = "syncing_starred"
    elif finished == total:
        state = "done"
    else:
        state = "processing"
    return {
        "login": user.login,
        "state": state,
        "starred_synced_at": user.starred_synced_at,
        "starred_repos": StarEdge.objects.filter(user=user).count(),
        "repos": total,
        "repos_by_status": by_status,
        "stargazers_stored": stored,
        "progress": round(finished / total, 4) if total else (1.0 if state == "done" else 0.0),
    }


def repo_stargazers(*, owner: str, name: str, page: int) -> dict[str, Any]:
    """A repo's stored stargazers, oldest star first, 100 per page."""
    repo = repo_get(owner=owner, name=name)
    qs = StarEdge.objects.filter(repo=repo)
    total = qs.count()
    start = (page - 1) * STARGAZERS_PER_PAGE
    rows = qs.order_by(_asc_nulls_last("starred_at"), "id").values(
        "user__login", "user__avatar_url", "user__state", "starred_at", "source"
    )[start : start + STARGAZERS_PER_PAGE]
    crawl = StargazerCrawl.objects.filter(pk=repo.pk).values("status").first()
    return {
        "repo": repo.full_name,
        "crawl_status": crawl["status"] if crawl else None,
        "page": page,
        "per_page": STARGAZERS_PER_PAGE,
        "total": total,
        "pages": -(-total // STARGAZERS_PER_PAGE),
        "stargazers": [
            {
                "login": r["user__login"],
                "avatar_url": r["user__avatar_url"],
                "state": r["user__state"],
                "starred_at": r["starred_at"],
                "source": r["source"],
            }
            for r in rows
        ],
    }


def _asc_nulls_last(name: str):
    return F(name).asc(nulls_last=True)


def _history_day(day, stars: int) -> dict[str, Any]:
    return {"date": day.isoformat(), "count": stars}


def repo_star_history(*, owner: str, name: str) -> tuple[Any, list[dict[str, Any]]]:
    repo = repo_get(owner=owner, name=name)
    days = StarHistoryDay.objects.filter(repo=repo).order_by("day").values_list("day", "stars")
    return repo, [_history_day(day, stars) for day, stars in days]


def star_history_many(*, repo_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Several repos' stored daily star counts in one query (a profile draws every
    highlight's history at once), each list shaped as `repo_star_history`'s."""
    out: dict[int, list[dict[str, Any]]] = {repo_id: [] for repo_id in repo_ids}
    rows = (
        StarHistoryDay.objects.filter(repo_id__in=repo_ids)
        .order_by("repo_id", "day")
        .values_list("repo_id", "day", "stars")
    )
    for repo_id, day, stars in rows:
        out[repo_id].append(_history_day(day, stars))
    return out


def star_history_versions(*, repo_ids: list[int]) -> dict[int, str]:
    """A digest of each repo's stored days and counts, by repo id (repos with none left
    out): it changes with any day's count, so a drawing can be kept under it without
    reading the days themselves."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT repo_id, md5(string_agg(day::text || ':' || stars::text, ',' ORDER BY day))
            FROM {StarHistoryDay._meta.db_table}
            WHERE repo_id = ANY(%s)
            GROUP BY repo_id
            """,  # noqa: S608 - identifiers from model metadata; values are parameters
            [list(repo_ids)],
        )
        return dict(cursor.fetchall())


def _kindred_stored(*, login: str, limit: int) -> tuple | None:
    """In one statement: the user with this login (any case, stargazers seen only as such
    included), the stored row's count and time, and its first `limit` kindred with their
    user fields, most repos in common first (ties by login); None for no such user, a
    None time when the account has no computed row yet."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT v.id, v.login, s.starred_count, s.computed_at,
                   coalesce((
                       SELECT json_agg(json_build_object(
                           'login', u.login, 'state', u.state, 'avatar_url', u.avatar_url,
                           'common_repos', k.common
                       ) ORDER BY k.common DESC, u.login COLLATE "C")
                       FROM (
                           SELECT (p ->> 0)::bigint AS uid, (p ->> 1)::int AS common
                           FROM jsonb_array_elements(s.kindred) WITH ORDINALITY AS t(p, ord)
                           WHERE ord <= %(limit)s
                       ) k
                       JOIN {GitHubUser._meta.db_table} u ON u.id = k.uid
                   ), '[]')::text
            FROM {GitHubUser._meta.db_table} v
            LEFT JOIN {AccountStarSignals._meta.db_table} s
                ON s.user_id = v.id AND s.computed_at IS NOT NULL
            WHERE lower(v.login) = lower(%(login)s)
            LIMIT 1
            """,  # noqa: S608 - identifiers from model metadata; values are parameters
            {"login": login, "limit": limit},
        )
        return cursor.fetchone()


def kindred(*, login: str, limit: int) -> dict[str, Any]:
    """Users with the most starred repos in common, from both feeds.

    Read from the account's precomputed signals (refreshed when stars change), so the
    answer costs one indexed statement at any graph size; computed once if never stored.
    Any user the star graph knows counts, stargazers seen only as such included.
    """
    # Inside the body: the services import these selectors (a cycle at module level).
    from stargazers.services.signals import star_signals_compute

    user_selectors.username_validate(login=login)
    stored = _kindred_stored(login=login, limit=limit)
    if stored is None:
        raise UserNotFound.for_login(login)
    user_id, found_login, starred_count, computed_at, found = stored
    if computed_at is None and star_signals_compute(user_id=user_id) is not None:
        user_id, found_login, starred_count, computed_at, found = _kindred_stored(
            login=login, limit=limit
        )
    return {
        "login": found_login,
        "starred_repos": starred_count or 0,
        "computed_at": computed_at,
        "kindred": json.loads(found),
    }


def star_signals_for(*, user_id: int) -> dict[str, Any]:
    """The star-graph signals the feed ranks with, each normalised to 0..1.

    `repo_kindred` {repo_id: share of the closest kindred's weight that starred it},
    `repo_overlap` {repo_id: kindred stargazers / sqrt(stargazers), over the maximum},
    `owner_kindred` {lower(owner): the closest kindred's stars of the owner's repos, over
    the maximum}, `kindred` {user_id: common repos}.
    """
    # Inside the body: the services import these selectors (a cycle at module level).
    from stargazers.services.signals import star_signals_current

    signals = star_signals_current(user_id=user_id)
    total = signals.top_weight or 0
    repo_kindred: dict[int, float] = {}
    repo_overlap: dict[int, float] = {}
    max_overlap = max((float(v[1]) for v in signals.repos.values()), default=0.0)
    for key, (weight, overlap) in signals.repos.items():
        repo_id = int(key)
        if total and weight:
            repo_kindred[repo_id] = min(1.0, float(weight) / total)
        if max_overlap and overlap:
            repo_overlap[repo_id] = float(overlap) / max_overlap
    max_owner = max((float(v) for v in signals.owners.values()), default=0.0)
    owner_kindred = (
        {owner: float(w) / max_owner for owner, w in signals.owners.items() if w}
        if max_owner
        else {}
    )
    return {
        "repo_kindred": repo_kindred,
        "repo_overlap": repo_overlap,
        "owner_kindred": owner_kindred,
        "kindred": {int(uid): int(common) for uid, common in signals.kindred},
        "computed_at": signals.computed_at,
    }


def crawls_due_count() -> int:
    now = timezone.now()
    return StargazerCrawl.objects.filter(
        Q(status=Status.PENDING, not_before__isnull=True)
        | Q(status=Status.PENDING, not_before__lte=now)
        | Q(status__in=[Status.RATE_LIMITED, Status.RESTRICTED], not_before__lte=now)
    ).count()


def engine_health() -> tuple[str, str]:
    """(status, message) of the star-graph engine for /health's `supervisor` check."""
    cutoff = timezone.now() - timedelta(seconds=settings.STARGAZER_CLAIM_TTL_SECONDS)
    # One query for both figures: health probes call this every few seconds.
    counts = StargazerCrawl.objects.filter(status=Status.PROCESSING).aggregate(
        processing=Count("pk"), stale=Count("pk", filter=Q(heartbeat_at__lt=cutoff))
    )
    stale, processing = counts["stale"], counts["processing"]
    paused = stargazers_paused()
    message = f"{processing} repo(s) processing" + ("; paused by an operator" if paused else "")
    if stale:
        return "degraded", f"{stale} claim(s) without heartbeat past the TTL; {message}"
    return "healthy", message


def supervisor_check() -> health.Check:
    """/health's `supervisor` check: degraded while claims sit past their heartbeat TTL."""
    try:
        status, message = engine_health()
    except Exception as exc:  # noqa: BLE001 - a failing check reports, never raises
        return health.Check(health.DEGRADED, f"star-graph state unreadable: {type(exc).__name__}")
    return health.Check(status, message)


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
