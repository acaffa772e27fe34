"""Repositories, their link to users, and their galleries."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower


class Repo(models.Model):
    """A GitHub repository: GitHub's fields plus what Gazer derives (blurb, tags, kind)."""

    github_id = models.BigIntegerField(null=True, blank=True, unique=True)
    full_name = models.CharField(max_length=140)
    owner_login = models.CharField(max_length=39)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    language = models.CharField(max_length=80, blank=True, default="")
    topics = models.JSONField(default=list, blank=True)
    homepage = models.CharField(max_length=500, blank=True, default="")
    default_branch = models.CharField(max_length=255, blank=True, default="")
    stargazers_count = models.PositiveIntegerField(default=0)
    forks_count = models.PositiveIntegerField(default=0)
    is_fork = models.BooleanField(default=False)
    is_archived = models.BooleanField(default=False)
    is_private = models.BooleanField(default=False)
    parent_full_name = models.CharField(max_length=140, blank=True, default="")
    github_created_at = models.DateTimeField(null=True, blank=True)
    github_updated_at = models.DateTimeField(null=True, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    has_readme = models.BooleanField(null=True, blank=True)
    # Derived by the pipeline.
    blurb = models.TextField(blank=True, default="")
    emphasis = models.JSONField(default=list, blank=True)
    keywords = models.JSONField(default=list, blank=True)
    kind = models.CharField(max_length=80, blank=True, default="")
    link = models.URLField(max_length=500, blank=True, default="")
    metadata_fetched_at = models.DateTimeField(null=True, blank=True)
    enriched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "gazer_repo"
        constraints = [
            models.UniqueConstraint(Lower("full_name"), name="repo_full_name_ci_unique"),
        ]
        indexes = [
            models.Index(Lower("owner_login"), name="repo_owner_ci_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def recency(self):
        """The ordering key of a user's repos: pushed_at, else GitHub's updated_at."""
        return self.pushed_at or self.github_updated_at


class UserRepo(models.Model):
    """Why a repo belongs to a user's profile, and whether it is highlighted."""

    class Reason(models.TextChoices):
        OWNED = "owned"
        FORK_ACTIVE = "fork_active"
        CONTRIBUTED = "contributed"
        MANUAL = "manual"

    user = models.ForeignKey(
        "users.GitHubUser", on_delete=models.CASCADE, related_name="repo_links"
    )
    repo = models.ForeignKey(Repo, on_delete=models.CASCADE, related_name="user_links")
    include_reason = models.CharField(max_length=12, choices=Reason.choices)
    commit_days = models.PositiveIntegerField(null=True, blank=True)
    # 1-based position among the user's highlighted repos; null when not highlighted.
    highlight_rank = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "gazer_user_repo"
        constraints = [
            models.UniqueConstraint(fields=["user", "repo"], name="user_repo_unique"),
            models.UniqueConstraint(
                fields=["user", "highlight_rank"],
                condition=Q(highlight_rank__isnull=False),
                name="user_repo_unique_highlight_rank",
            ),
            models.CheckConstraint(
                condition=Q(highlight_rank__isnull=True) | Q(highlight_rank__gte=1),
                name="user_repo_highlight_rank_positive",
            ),
        ]
        indexes = [
            models.Index(
                fields=["repo"],
                condition=Q(highlight_rank__isnull=False),
                name="user_repo_highlighted_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}→{self.repo_id} ({self.include_reason})"

    @property
    def is_highlighted(self) -> bool:
        return self.highlight_rank is not None


class GalleryImage(models.Model):
    """An image in a repo's gallery (README media or added through the API)."""

    repo = models.ForeignKey(Repo, on_delete=models.CASCADE, related_name="gallery")
    url = models.URLField(max_length=2000)
    original_url = models.CharField(max_length=2000, blank=True, default="")
    alt = models.CharField(max_length=500, blank=True, default="")
    title = models.CharField(max_length=500, blank=True, default="")
    caption = models.TextField(blank=True, default="")
    is_highlight = models.BooleanField(default=False)
    # Epoch milliseconds, as the gallery API speaks them.
    taken_at = models.BigIntegerField(default=0)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    source = models.CharField(
        max_length=10, choices=[("readme", "readme"), ("api", "api")], default="api"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "gazer_gallery_image"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["repo", "url"], name="gallery_image_repo_url_unique"),
        ]

    def __str__(self) -> str:
        return self.url
