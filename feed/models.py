"""For You feed: cached LLM judgments and what each viewer has been shown."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class FeedJudgment(models.Model):
    """Whether `repo` suits `viewer`, valid while both fingerprints and the model match."""

    viewer = models.ForeignKey(
        "users.GitHubUser", on_delete=models.CASCADE, related_name="feed_judgments"
    )
    repo = models.ForeignKey("repos.Repo", on_delete=models.CASCADE, related_name="+")
    include = models.BooleanField()
    viewer_fingerprint = models.CharField(max_length=64)
    candidate_fingerprint = models.CharField(max_length=64)
    model = models.CharField(max_length=200)
    # Which signals placed the item (llm, kindred, starred_by_kindred, ...).
    signals = models.JSONField(default=list, blank=True)
    judged_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "gazer_feed_judgment"
        constraints = [
            models.UniqueConstraint(fields=["viewer", "repo"], name="feed_judgment_unique"),
        ]
        indexes = [
            models.Index(
                fields=["viewer"], condition=Q(include=True), name="feed_judgment_included_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.viewer_id}:{self.repo_id}:{self.include}"


class FeedExposure(models.Model):
    """How often and when a viewer was shown a repo (the fatigue ranking's input)."""

    viewer = models.ForeignKey(
        "users.GitHubUser", on_delete=models.CASCADE, related_name="feed_exposures"
    )
    repo = models.ForeignKey("repos.Repo", on_delete=models.CASCADE, related_name="+")
    times_shown = models.PositiveIntegerField(default=0)
    last_shown_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "gazer_feed_exposure"
        constraints = [
            models.UniqueConstraint(fields=["viewer", "repo"], name="feed_exposure_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.viewer_id}:{self.repo_id}×{self.times_shown}"
