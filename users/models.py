"""GitHub users, the pipeline runs that build their profiles, and each run's steps."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower


class GitHubUser(models.Model):
    """Any GitHub user Gazer knows of.

    `active`: signed in (an account); `ghost`: profiled ahead of sign-in; `discovered`:
    seen only in the star graph (a stargazer), with no profile pipeline of its own.
    """

    class State(models.TextChoices):
        ACTIVE = "active"
        GHOST = "ghost"
        DISCOVERED = "discovered"

    login = models.CharField(max_length=39)
    github_id = models.BigIntegerField(null=True, blank=True, unique=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.DISCOVERED)
    name = models.CharField(max_length=255, blank=True, default="")
    avatar_url = models.URLField(max_length=500, blank=True, default="")
    html_url = models.URLField(max_length=500, blank=True, default="")
    bio = models.TextField(blank=True, default="")
    company = models.CharField(max_length=255, blank=True, default="")
    location = models.CharField(max_length=255, blank=True, default="")
    blog = models.CharField(max_length=500, blank=True, default="")
    public_repos = models.PositiveIntegerField(null=True, blank=True)
    followers = models.PositiveIntegerField(null=True, blank=True)
    github_created_at = models.DateTimeField(null=True, blank=True)
    theme = models.CharField(max_length=255, blank=True, default="")
    # The account's own GitHub OAuth token, Fernet-encrypted (users.tokens); never echoed.
    token_encrypted = models.TextField(blank=True, default="", editable=False)
    token_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    profile_fetched_at = models.DateTimeField(null=True, blank=True)
    last_login_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "gazer_github_user"
        constraints = [
            models.UniqueConstraint(Lower("login"), name="github_user_login_ci_unique"),
        ]
        indexes = [
            models.Index(
                fields=["state"], name="github_user_state_idx", condition=~Q(state="discovered")
            ),
        ]

    def __str__(self) -> str:
        return self.login

    @property
    def is_ghost(self) -> bool:
        return self.state == self.State.GHOST

    @property
    def has_token(self) -> bool:
        return bool(self.token_encrypted)


class PipelineRun(models.Model):
    """One run of a user's profile pipeline. At most one is queued or running per user."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        WAITING = "waiting"  # rate-limited; resumes by itself at `not_before`
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING, Status.WAITING)

    class Trigger(models.TextChoices):
        LOGIN = "login"
        START = "start"
        RESTART = "restart"
        GHOST = "ghost"
        REFRESH = "refresh"
        COMMAND = "command"

    user = models.ForeignKey(GitHubUser, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    from_step = models.CharField(max_length=40, blank=True, default="")
    selected_steps = models.JSONField(default=list, blank=True)
    queue = models.CharField(max_length=10, default="default")
    not_before = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "gazer_pipeline_run"
        constraints = [
            # Fifty concurrent login/start calls create one run: the database decides.
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status__in=["queued", "running", "waiting"]),
                name="pipeline_run_one_active_per_user",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "not_before"], name="pipeline_run_due_idx"),
            models.Index(fields=["user", "-created_at"], name="pipeline_run_user_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.trigger}:{self.status}"


class WorkItem(models.Model):
    """One pipeline step for a user, optionally scoped to one of the user's repos."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        SKIPPED = "skipped"

    user = models.ForeignKey(GitHubUser, on_delete=models.CASCADE, related_name="work_items")
    repo = models.ForeignKey(
        "repos.Repo", on_delete=models.CASCADE, null=True, blank=True, related_name="work_items"
    )
    run = models.ForeignKey(
        PipelineRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="items"
    )
    step = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "gazer_work_item"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "step", "repo"],
                nulls_distinct=False,
                name="work_item_unique_step_subject",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "not_before"], name="work_item_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.step}:{self.user_id}:{self.repo_id or '-'}:{self.status}"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None
