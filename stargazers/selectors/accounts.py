"""Accounts in the star graph: one account's progress, and how many were processed."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet, Sum

from stargazers.models import AccountStarredSync, StarEdge, StargazerCrawl
from stargazers.selectors.crawls import repos_by_status
from users import selectors as user_selectors
from users.models import GitHubUser

Status = StargazerCrawl.Status
FINISHED = (Status.COMPLETED, Status.PAGINATION_LIMITED, Status.RESTRICTED, Status.FAILED)


def accounts_processed() -> QuerySet[GitHubUser]:
    """Accounts whose starred list has been synced at least once."""
    return GitHubUser.objects.filter(
        state=GitHubUser.State.ACTIVE, starred_sync__synced_at__isnull=False
    )


def accounts_processed_total() -> int:
    """Accounts whose star graph has been built at least once (/health's counter)."""
    return accounts_processed().count()


def account_progress(*, login: str) -> dict[str, Any]:
    """The account's star-graph progress: its starred repos' crawls by status."""
    # Any user the star graph knows, stargazers seen only as such included.
    user = user_selectors.user_get(login=login, discovered=True)
    starred = StarEdge.objects.filter(user=user).values("repo_id")
    crawls = StargazerCrawl.objects.filter(repo_id__in=starred)
    by_status = repos_by_status(crawls)
    stored = crawls.aggregate(n=Sum("stargazers_stored"))["n"] or 0
    total = sum(by_status.values())
    finished = sum(by_status[s] for s in FINISHED)
    synced_at = (
        AccountStarredSync.objects.filter(pk=user.pk).values_list("synced_at", flat=True).first()
    )
    if synced_at is None:
        state = "syncing_starred"
    elif finished == total:
        state = "done"
    else:
        state = "processing"
    return {
        "login": user.login,
        "state": state,
        "starred_synced_at": synced_at,
        "starred_repos": StarEdge.objects.filter(user=user).count(),
        "repos": total,
        "repos_by_status": by_status,
        "stargazers_stored": stored,
        "progress": round(finished / total, 4) if total else (1.0 if state == "done" else 0.0),
    }
