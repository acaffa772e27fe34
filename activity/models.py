"""The activity document of a user (a fixed schema, stored whole) and, per linked
repository, what the last scan saw (so a refresh asks only for what changed)."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower


class UserActivity(models.Model):
    user = models.OneToOneField(
        "users.GitHubUser", on_delete=models.CASCADE, primary_key=True, related_name="activity"
    )
    # Compact JSON text: {"version": 1, "window_years": 2, "days": {...}, "repo_days":
    # {...}, "language_days": {...}}. Text, not jsonb, so the key order clients see
    # survives and the endpoint sends it without decoding and encoding it again.
    document = models.TextField()
    # What the document covers and leaves out (served beside it, never inside it).
    coverage = models.JSONField(default=dict, blank=True)
    # Author emails that are the user's (learnt from GitHub's author-filtered lists).
    identities = models.JSONField(default=list, blank=True)
    window_start = models.DateField()
    window_end = models.DateField()
    active_days = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "gazer_user_activity"
        verbose_name_plural = "user activity"

    def __str__(self) -> str:
        return f"activity:{self.user_id}"


class ActivityRepo(models.Model):
    """One linked repository's share of a user's activity, and the scan's cursor."""

    class Status(models.TextChoices):
        OK = "ok"  # cloned and matched
        NO_LANGUAGES = "no_languages"  # clone failed or too large: days from REST only
        EMPTY = "empty"  # 409
        NOT_FOUND = "not_found"  # 404
        BLOCKED = "blocked"  # 451

    user = models.ForeignKey(
        "users.GitHubUser", on_delete=models.CASCADE, related_name="activity_repos"
    )
    full_name = models.CharField(max_length=140)
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.OK)
    error = models.TextField(blank=True, default="")
    # {date: [languages]} of the user's commits in this repo, inside the window.
    days = models.JSONField(default=dict, blank=True)
    # Branch heads at the last scan ({name: sha}); equal heads mean nothing to do.
    heads = models.JSONField(default=dict, blank=True)
    newest_sha = models.CharField(max_length=64, blank=True, default="")
    newest_at = models.DateTimeField(null=True, blank=True)  # newest commit date scanned
    commits_counted = models.PositiveIntegerField(default=0)
    commits_left_out = models.PositiveIntegerField(default=0)  # past the per-repo cap
    clone_bytes = models.BigIntegerField(default=0)
    scanned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "gazer_activity_repo"
        constraints = [
            models.UniqueConstraint(
                "user", Lower("full_name"), name="activity_repo_user_repo_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.full_name}:{self.status}"
