"""The star graph: who starred what, and the per-repo stargazer crawl that fills it."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class StargazerCrawl(models.Model):
    """Stargazer processing of one repo: its status, claim and cursor.

    The row is the work: a beat sweep enqueues due rows, a task claims one with a
    conditional UPDATE, fetches pages from `next_page_url` and writes each page's edges
    with the cursor in one transaction.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        COMPLETED = "completed"
        FAILED = "failed"
        RATE_LIMITED = "rate_limited"
        PAGINATION_LIMITED = "pagination_limited"
        RESTRICTED = "restricted"

    class Priority(models.IntegerChoices):
        HIGH = 0, "high"  # a new account is waiting
        LOW = 9, "low"  # re-processing of existing accounts

    repo = models.OneToOneField(
        "repos.Repo", on_delete=models.CASCADE, primary_key=True, related_name="stargazer_crawl"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.LOW)
    # Copied from the repo so "fewest stars first" needs no join.
    repo_stars = models.PositiveIntegerField(default=0)
    # Whose token serves this repo (the account that starred it); null = server pool.
    account = models.ForeignKey(
        "users.GitHubUser", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    claimed_by = models.CharField(max_length=200, blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Cursor: the URL GitHub's Link header gave as rel="next" (never built by us).
    next_page_url = models.TextField(blank=True, default="")
    pages_fetched = models.PositiveIntegerField(default=0)
    # The last page stored and its ETag: a refresh re-reads from here, conditionally.
    last_page_url = models.TextField(blank=True, default="")
    last_page_etag = models.CharField(max_length=200, blank=True, default="")
    stargazers_total = models.PositiveIntegerField(null=True, blank=True)
    stargazers_stored = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    error_count = models.PositiveIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)
    notes = models.CharField(max_length=500, blank=True, default="")
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "gazer_stargazer_crawl"
        indexes = [
            # The sweep and claim order: due rows by priority, fewest stars first.
            models.Index(
                fields=["priority", "repo_stars"],
                condition=Q(status__in=["pending", "rate_limited"]),
                name="crawl_due_order_idx",
            ),
            models.Index(
                fields=["heartbeat_at"],
                condition=Q(status="processing"),
                name="crawl_processing_heartbeat_idx",
            ),
            models.Index(fields=["status"], name="crawl_status_idx"),
            models.Index(fields=["account"], name="crawl_account_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.repo_id}:{self.status}"


class StarEdge(models.Model):
    """`user` starred `repo` (from either feed of the graph); one row per pair."""

    class Source(models.TextChoices):
        STARRED = "starred"  # the user's own public starred list
        STARGAZERS = "stargazers"  # the repo's stargazer pages

    repo = models.ForeignKey("repos.Repo", on_delete=models.CASCADE, related_name="star_edges")
    user = models.ForeignKey(
        "users.GitHubUser", on_delete=models.CASCADE, related_name="star_edges"
    )
    starred_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "gazer_star_edge"
        constraints = [
            models.UniqueConstraint(fields=["repo", "user"], name="star_edge_unique"),
        ]
        indexes = [
            models.Index(fields=["user", "repo"], name="star_edge_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}★{self.repo_id}"


class StarHistoryDay(models.Model):
    """Daily new-star counts from the public `stargazers/history` endpoint."""

    repo = models.ForeignKey("repos.Repo", on_delete=models.CASCADE, related_name="star_history")
    day = models.DateField()
    stars = models.PositiveIntegerField()

    class Meta:
        db_table = "gazer_star_history_day"
        constraints = [
            models.UniqueConstraint(fields=["repo", "day"], name="star_history_day_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.repo_id}:{self.day}:{self.stars}"


class AccountStarredSync(models.Model):
    """The sync of one account's own starred list: when it last finished, and until when
    a rate-limited sync waits (the account sweep sends it again after that)."""

    user = models.OneToOneField(
        "users.GitHubUser", on_delete=models.CASCADE, primary_key=True, related_name="starred_sync"
    )
    synced_at = models.DateTimeField(null=True, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "gazer_account_starred_sync"

    def __str__(self) -> str:
        return f"{self.user_id}:{self.synced_at}"


class AccountStarAffinity(models.Model):
    """What the star graph says about one user, precomputed when stars change.

    Kindred developers (most starred repos in common) and, from the closest of them, the
    repos and repo owners they starred: the feed's ranking features and `/kindred`
    read this row instead of aggregating the edges per request. `stale_at` is set when
    the user's or a neighbour's stars change; a refresh clears it, then recomputes.
    """

    user = models.OneToOneField(
        "users.GitHubUser", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # [[user_id, common_repos], ...], most in common first.
    kindred = models.JSONField(default=list)
    # {repo_id: [weight, overlap]}: weight = sum of the common counts of the closest kindred
    # who starred it; overlap = kindred stargazers / sqrt(all stargazers).
    repos = models.JSONField(default=dict)
    # {lower(owner_login): weight}: the closest kindred's stars summed by repo owner.
    owners = models.JSONField(default=dict)
    # Sum of the closest kindred's common counts (the weights' normaliser).
    top_weight = models.PositiveIntegerField(default=0)
    starred_count = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(null=True, blank=True)
    stale_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "gazer_account_star_affinity"
        indexes = [
            models.Index(
                fields=["stale_at"],
                condition=Q(stale_at__isnull=False),
                name="star_affinity_stale_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{len(self.kindred)} kindred"
