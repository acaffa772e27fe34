"""Writes of the users app: accounts (login, ghost, delete) and the runs they start.

Each operation writes in one transaction and asks the run engine (users.engine) for a
run, whose coordinator is enqueued on commit. A sign-in is announced with the
`account_signed_in` signal, which the star graph listens to.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from repos import services as repo_services
from repos.models import UserRepo
from users import engine, pipeline, signals
from users.errors import UnknownStep, UserExists, UserNotFound
from users.identity import user_upsert_by_login
from users.models import GitHubUser, PipelineRun, WorkItem
from users.selectors import user_get, username_validate
from users.tokens import token_decrypt, token_encrypt
from workers import queues

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------------------ users
def _token_fields(token: str | None) -> dict[str, Any]:
    if not token:
        return {}
    return {"token_encrypted": token_encrypt(token), "token_set_at": timezone.now()}


@dataclass(frozen=True)
class LoginResult:
    user_id: int
    status: str  # new | activated | existing
    run_id: int | None
    processing: bool
    data_ready: bool
    # False when the login changed nothing: an account whose run was already going,
    # signing in with no new token (the caller's pipeline budget is not spent on it).
    changed: bool = True


def user_login(*, login: str, github_token: str | None = None) -> LoginResult:
    """Login: new → create and run; ghost → activate at once and refresh;
    existing → refresh (steps that succeeded are skipped)."""
    username_validate(login=login)
    with transaction.atomic():
        user, inserted = user_upsert_by_login(login=login, state=GitHubUser.State.ACTIVE)
        previous = user.state
        if inserted or previous == GitHubUser.State.DISCOVERED:
            status = "new"
        elif previous == GitHubUser.State.GHOST:
            status = "activated"
        else:
            status = "existing"
        GitHubUser.objects.filter(id=user.id).update(
            state=GitHubUser.State.ACTIVE,
            last_login_at=timezone.now(),
            **_token_fields(github_token),
        )
        running = PipelineRun.objects.filter(
            user_id=user.id, status__in=PipelineRun.ACTIVE_STATUSES
        ).exists()
        same_token = not github_token or token_decrypt(user.token_encrypted) == github_token
        queue = queues.HIGH if status == "new" else queues.LOW
        trigger = PipelineRun.Trigger.LOGIN
        run = engine.run_start(user_id=user.id, trigger=trigger, queue=queue)
        user_id, is_new = user.id, status != "existing"
        transaction.on_commit(
            lambda: signals.account_signed_in.send(
                sender=GitHubUser, user_id=user_id, is_new=is_new
            )
        )
    has_data = status != "new" and _data_ready(user.id)
    return LoginResult(
        user_id=user.id,
        status=status,
        run_id=run.id,
        processing=status == "new" or not has_data,
        data_ready=has_data,
        changed=not (status == "existing" and running and same_token),
    )


def _data_ready(user_id: int) -> bool:
    return WorkItem.objects.filter(
        user_id=user_id,
        repo=None,
        step=pipeline.FETCH_REPOS,
        status=WorkItem.Status.SUCCEEDED,
    ).exists()


@dataclass(frozen=True)
class GhostResult:
    created: bool
    run_id: int


def ghost_create(*, login: str, force: bool = False) -> GhostResult:
    """Create an inactive (ghost) user and fetch it once; 409 for an existing one."""
    username_validate(login=login)
    with transaction.atomic():
        user, inserted = user_upsert_by_login(login=login, state=GitHubUser.State.GHOST)
        # A user known only as a discovered stargazer has no profile yet: this creates it.
        created = inserted or user.state == GitHubUser.State.DISCOVERED
        if not created and not force:
            raise UserExists(
                details={"username": user.login, "is_ghost": user.state == "ghost"},
            )
        GitHubUser.objects.filter(id=user.id).update(state=GitHubUser.State.GHOST)
        run = engine.run_start(
            user_id=user.id, trigger=PipelineRun.Trigger.GHOST, queue=queues.DEFAULT
        )
    return GhostResult(created=created, run_id=run.id)


def user_start(*, login: str, trigger: str = PipelineRun.Trigger.START) -> PipelineRun:
    """Start (or join) the user's pipeline; a user not yet known is created."""
    username_validate(login=login)
    with transaction.atomic():
        user, inserted = user_upsert_by_login(login=login, state=GitHubUser.State.ACTIVE)
        if user.state == GitHubUser.State.DISCOVERED:
            GitHubUser.objects.filter(id=user.id).update(state=GitHubUser.State.ACTIVE)
            inserted = True
        return engine.run_start(
            user_id=user.id, trigger=trigger, queue=queues.HIGH if inserted else queues.LOW
        )


def user_restart(*, login: str, from_step: str | None = None) -> PipelineRun:
    """Clear derived data and run again; `from_step` clears and reruns that step and
    everything downstream of it: nothing is left half-reset, and the run is really queued."""
    if from_step is not None:
        _step_check(from_step)
    user = user_get(login=login)
    steps = pipeline.steps_from(from_step) if from_step else list(pipeline.steps_all())
    with transaction.atomic():
        user = GitHubUser.objects.select_for_update().get(id=user.id)
        # The active run (if any) is cancelled: its steps check their run before writing.
        PipelineRun.objects.filter(user=user, status__in=PipelineRun.ACTIVE_STATUSES).update(
            status=PipelineRun.Status.CANCELLED, finished_at=timezone.now()
        )
        _derived_clear(user=user, steps=steps)
        return engine.run_start(
            user_id=user.id,
            trigger=PipelineRun.Trigger.RESTART,
            queue=queues.DEFAULT,
            from_step=from_step or "",
        )


def _step_check(step: str) -> None:
    if not pipeline.step_known(step):
        raise UnknownStep(f"Unknown step {step!r}.", details={"steps": list(pipeline.steps_all())})


def _derived_clear(*, user: GitHubUser, steps: list[str]) -> None:
    step_set = set(steps)
    links = UserRepo.objects.filter(user=user)
    if pipeline.FETCH_REPOS in step_set:
        # Links go; repos only this user had go with them (a contribution linked to
        # another user stays). Manual gallery links stay too.
        repo_ids = list(
            links.exclude(include_reason=UserRepo.Reason.MANUAL).values_list("repo_id", flat=True)
        )
        links.filter(repo_id__in=repo_ids).delete()
        repo_services.repos_delete_orphans(repo_ids=repo_ids)
    if pipeline.SELECT_HIGHLIGHTS in step_set:
        links.filter(highlight_rank__isnull=False).update(highlight_rank=None)
        # Repo-scoped steps belong to the old highlights: they are recreated for the new.
        WorkItem.objects.filter(user=user, repo__isnull=False).delete()
    if pipeline.USER_THEME in step_set:
        GitHubUser.objects.filter(id=user.id).update(theme="")
    repo_fields = {
        pipeline.REPO_BLURB: "blurb",
        pipeline.REPO_EMPHASIS: "emphasis",
        pipeline.REPO_KEYWORDS: "keywords",
        pipeline.REPO_KIND: "kind",
        pipeline.REPO_LINK: "link",
    }
    cleared = [field for step, field in repo_fields.items() if step in step_set]
    if cleared:
        # Derived fields of repos only this user links to; a shared repo keeps what
        # another profile shows until its own refresh.
        mine = UserRepo.objects.filter(user=user).values_list("repo_id", flat=True)
        shared = (
            UserRepo.objects.filter(repo_id__in=mine)
            .exclude(user=user)
            .values_list("repo_id", flat=True)
        )
        own_ids = set(mine) - set(shared)
        repo_services.repo_derived_clear(repo_ids=own_ids, fields=cleared)
    WorkItem.objects.filter(user=user, step__in=steps).update(
        status=WorkItem.Status.PENDING,
        output=None,
        error="",
        attempts=0,
        not_before=None,
        queued_at=None,
        started_at=None,
        finished_at=None,
    )


@dataclass(frozen=True)
class DeleteResult:
    deleted: str
    runs: int
    repos_linked: int


def user_delete(*, login: str) -> DeleteResult:
    """Delete the user, its runs, steps and links, and the repos only it had."""
    user = user_get(login=login)
    with transaction.atomic():
        # FOR UPDATE waits for any pipeline write holding the row (FOR NO KEY UPDATE)
        # and makes later ones find no user: nothing is written after this commits.
        locked = GitHubUser.objects.select_for_update().filter(id=user.id).first()
        if locked is None:
            raise UserNotFound.for_login(login)
        repo_ids = list(UserRepo.objects.filter(user=locked).values_list("repo_id", flat=True))
        runs = PipelineRun.objects.filter(user=locked).count()
        locked.delete()
        removed = repo_services.repos_delete_orphans(repo_ids=repo_ids)
    logger.info("users.deleted", extra={"user": login, "repos_removed": removed})
    return DeleteResult(deleted=login, runs=runs, repos_linked=len(repo_ids))


def run_create_for_command(*, login: str, select: list[str] | None = None) -> PipelineRun:
    """A foreground run (`manage.py run`); no coordinator is enqueued for it."""
    for step in select or []:
        _step_check(step)
    username_validate(login=login)
    with transaction.atomic():
        user, _ = user_upsert_by_login(login=login, state=GitHubUser.State.ACTIVE)
        if user.state == GitHubUser.State.DISCOVERED:
            GitHubUser.objects.filter(id=user.id).update(state=GitHubUser.State.ACTIVE)
        return engine.run_start_foreground(user=user, select=select)
