"""What background work shares: diagnostics history and persisted pause switches."""

from __future__ import annotations

from django.db import models


class DiagnosticsSnapshot(models.Model):
    """The hourly diagnostics, stored so stats and admin show history."""

    taken_at = models.DateTimeField(auto_now_add=True, db_index=True)
    period_seconds = models.PositiveIntegerField(default=0)
    accounts_processed_total = models.PositiveIntegerField(default=0)
    accounts_processed_period = models.PositiveIntegerField(default=0)
    accounts_per_hour = models.FloatField(default=0)
    workers_total = models.PositiveIntegerField(default=0)
    workers_active = models.PositiveIntegerField(default=0)
    workers_idle = models.PositiveIntegerField(default=0)
    queue_depths = models.JSONField(default=dict)
    cpu_percent = models.FloatField(default=0)
    memory_percent = models.FloatField(default=0)
    memory_used_mb = models.PositiveIntegerField(default=0)
    memory_total_mb = models.PositiveIntegerField(default=0)
    repos_by_status = models.JSONField(default=dict)
    stargazers_found = models.BigIntegerField(default=0)
    deadline_seconds = models.PositiveIntegerField(default=0)
    # The server pool's GitHub budget summed over its tokens (workers.diagnostics).
    github_budget = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "gazer_diagnostics_snapshot"
        ordering = ["-taken_at"]
        get_latest_by = "taken_at"

    def __str__(self) -> str:
        return f"diagnostics@{self.taken_at:%Y-%m-%d %H:%M}"


class QueuePause(models.Model):
    """A paused queue. Workers check it on start, so a restarted worker stays paused."""

    queue = models.CharField(max_length=20, unique=True)
    reason = models.CharField(max_length=200, blank=True, default="")
    paused_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "gazer_queue_pause"

    def __str__(self) -> str:
        return f"paused:{self.queue}"
