"""Crawl rows: the pause switch, counts by status, one row or a page of rows."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, Q
from django.db.models.query import QuerySet
from django.utils import timezone

from repos import selectors as repo_selectors
from repos.errors import InvalidRepoName, RepoNotFound
from repos.models import Repo
from stargazers import errors
from stargazers.models import StargazerCrawl
from workers.models import QueuePause

PAUSE_NAME = "stargazers"  # the QueuePause row that pauses star-graph work
STARGAZERS_PER_PAGE = 100  # GitHub's page size of stargazers
PAGE_CAP = 400  # GitHub lists at most 400 pages of stargazers

Status = StargazerCrawl.Status


def stargazers_paused() -> bool:
    return QueuePause.objects.filter(queue=PAUSE_NAME).exists()


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
    return repo_selectors.repo_get(
        full_name=repo_selectors.repo_name_validate(owner=owner, name=name)
    )


def repos_by_status(queryset: QuerySet[StargazerCrawl] | None = None) -> dict[str, int]:
    qs = queryset if queryset is not None else StargazerCrawl.objects.all()
    found = dict(qs.values_list("status").annotate(n=Count("pk")).order_by())
    return {status: found.get(status, 0) for status in Status.values}


def crawls_due_count() -> int:
    now = timezone.now()
    return StargazerCrawl.objects.filter(
        Q(status=Status.PENDING, not_before__isnull=True)
        | Q(status=Status.PENDING, not_before__lte=now)
        | Q(status__in=[Status.RATE_LIMITED, Status.RESTRICTED], not_before__lte=now)
    ).count()


def crawl_row(crawl: StargazerCrawl) -> dict[str, Any]:
    """One processing row as the admin API answers it (page-based names beside ours)."""
    stored = crawl.stargazers_stored
    return {
        "repo": crawl.repo.full_name,
        "github_id": crawl.repo.github_id,
        "status": crawl.status,
        "priority": crawl.get_priority_display(),
        "repo_stars": crawl.repo_stars,
        "account": crawl.account.login if crawl.account_id else None,
        "last_page_processed": -(-stored // STARGAZERS_PER_PAGE) if stored else 0,
        "total_pages": min(PAGE_CAP, -(-crawl.repo_stars // STARGAZERS_PER_PAGE)),
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
