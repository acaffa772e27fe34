"""For You feed: each viewer's ranked candidates, cached LLM judgments, what each viewer
has been shown, and the one rebuild row per viewer."""

from __future__ import annotations

from django.db import models
from django.db.models import Case, Q, Value, When


class FeedJudgment(models.Model):
    """Whether `repo` suits `viewer`, valid while both fingerprints and the model match.

    Only answers the LLM gave are stored: a batch that fell back is judged again by the
    next rebuild.
    """

    # No index of its own: feed_judgment_unique (viewer, repo) serves viewer lookups.
    viewer = models.ForeignKey(
        "users.GitHubUser", on_delete=models.CASCADE, related_name="feed_judgments", db_index=False
    )
    repo = models.ForeignKey("repos.Repo", on_delete=models.CASCADE, related_name="+")
    include = models.BooleanField()
    viewer_fingerprint = models.CharField(max_length=64)
    candidate_fingerprint = models.CharField(max_length=64)
    model = models.CharField(max_length=200)
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


class FeedEntry(models.Model):
    """One of a viewer's candidates as the last build ranked it (stage 1's best, with the
    judgment stage 2 gave it). `GET` ranks these with fatigue; nothing else is read."""

    class JudgedBy(models.TextChoices):
        NONE = "", "not judged"
        LLM = "llm"
        CACHE = "cache"
        FALLBACK = "fallback"

    # No index of its own: feed_entry_unique (viewer, repo) serves viewer lookups.
    viewer = models.ForeignKey(
        "users.GitHubUser", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    repo = models.ForeignKey("repos.Repo", on_delete=models.CASCADE, related_name="+")
    # The user who highlighted the repo (its author on the feed).
    author = models.ForeignKey("users.GitHubUser", on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    reasons = models.JSONField(default=list)
    include = models.BooleanField(null=True)
    judged_by = models.CharField(max_length=10, choices=JudgedBy.choices, blank=True, default="")
    # The ranking's first key, stored so the page reads the best never-shown entries off
    # an index: 0 judged in, 1 not judged, 2 judged out.
    tier = models.GeneratedField(
        expression=Case(
            When(include=True, then=Value(0)),
            When(include__isnull=True, then=Value(1)),
            default=Value(2),
        ),
        output_field=models.SmallIntegerField(),
        db_persist=True,
    )

    class Meta:
        db_table = "gazer_feed_entry"
        constraints = [
            models.UniqueConstraint(fields=["viewer", "repo"], name="feed_entry_unique"),
        ]
        indexes = [
            models.Index(fields=["author"], name="feed_entry_author_idx"),
            models.Index(fields=["viewer", "tier", "-score", "repo"], name="feed_entry_rank_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.viewer_id}:{self.repo_id}:{self.score:.3f}"


class FeedExposure(models.Model):
    """How often and when a viewer was shown a repo (the fatigue ranking's input)."""

    # No index of its own: feed_exposure_unique (viewer, repo) serves viewer lookups.
    viewer = models.ForeignKey(
        "users.GitHubUser", on_delete=models.CASCADE, related_name="feed_exposures", db_index=False
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


class FeedRebuild(models.Model):
    """The viewer's feed builds: at most one queued (`queued_at` set) and one running.

    A request flips a NULL `queued_at` (only that flip enqueues: debounced); the task
    claims by clearing it while no other build runs; a build that finishes with a new
    request waiting enqueues it.
    """

    class Status(models.TextChoices):
        IDLE = "idle"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    viewer = models.OneToOneField(
        "users.GitHubUser", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.IDLE)
    queued_at = models.DateTimeField(null=True, blank=True)
    trigger = models.CharField(max_length=20, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The candidate count the last build saw: a larger one now triggers a rebuild.
    candidates_seen = models.PositiveIntegerField(default=0)
    builds = models.PositiveIntegerField(default=0)
    # The last build's numbers: candidates, judged, cached, LLM calls, fallbacks, timings.
    stats = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        db_table = "gazer_feed_rebuild"
        indexes = [
            models.Index(
                fields=["queued_at"],
                condition=Q(queued_at__isnull=False),
                name="feed_rebuild_queued_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.viewer_id}:{self.status}"


class CandidateCount(models.Model):
    """How many highlighted links all users have (the candidate count a rebuild row's
    `candidates_seen` is compared with on every `GET`): one row, kept exact by statement
    triggers on the links table (insert, update, delete, truncate) in the same
    transaction as the change, so reading it costs one index probe instead of a count."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    n = models.BigIntegerField(default=0)

    class Meta:
        db_table = "gazer_feed_candidate_count"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="feed_candidate_count_one")]

    def __str__(self) -> str:
        return str(self.n)
