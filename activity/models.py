"""The two-year activity document of a user (seed 000's schema, stored whole)."""

from __future__ import annotations

from django.db import models


class UserActivity(models.Model):
    user = models.OneToOneField(
        "users.GitHubUser", on_delete=models.CASCADE, primary_key=True, related_name="activity"
    )
    # {"version": 1, "window_years": 2, "days": {...}, "repo_days": {...}, "language_days": {...}}
    document = models.JSONField()
    window_start = models.DateField()
    window_end = models.DateField()
    active_days = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "gazer_user_activity"
        verbose_name_plural = "user activity"

    def __str__(self) -> str:
        return f"activity:{self.user_id}"
