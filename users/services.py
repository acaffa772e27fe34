"""Writes of the users app: accounts, ghosts, pipeline runs and their steps.

The database is the record: a run (`PipelineRun`) and one row per step (`WorkItem`).
Views call a service that writes and enqueues the run's coordinator on commit; the
coordinator (`pipeline_advance`) dispatches the steps whose prerequisites are done, each
step task (`work_item_run`) claims its row, runs, records the outcome and calls the
coordinator again. A beat sweep (`pipeline_sweep`) re-enqueues what is due, so a lost
message or a rate-limit wait resumes by itself.
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import DateTimeField, Q, Value
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from repos.models import UserRepo
from users import pipeline
from users.errors import InvalidUsername, UnknownStep, UserExists, UserNotFound
from users.models import GitHubUser, PipelineRun, WorkItem
from users.signals import profile_ready
from users.tokens import token_decrypt, token_encrypt
from workers import queues

logger = logging.getLogger(__name__)

# GitHub's rules: 1-39 characters, alphanumerics or single hyphens, no hyphen at either end.
USERNAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")

# A dispatched step whose message was lost is dispatched again after this long.
REDISPATCH_AFTER = timedelta(minutes=5)
# A step still `running` this long after it started outlived its hard time limit.
STALE_RUNNING_AFTER = timedelta(minutes=10)
# An active run not advanced this long is advanced by the sweep.
RUN_IDLE_AFTER = timedelta(minutes=2)
# Transient failures: bounded exponential backoff with jitter.
MAX_TRANSIENT_RETRIES = 4
SECONDARY_RETRY_MAX_SECONDS = 300

TERMINAL = (WorkItem.Status.SUCCEEDED, WorkItem.Status.FAILED, WorkItem.Status.SKIPPED)
NO_SUCH_USER = "no such GitHub user"


def username_validate(*, login: str) -> str:
    if not isinstance(login, str) or not USERNAME_RE.match(login):
        raise InvalidUsername(details={"username": str(login)[:100]})
    return login


def user_get(*, login: str) -> GitHubUser:
    """A user with a profile (active or ghost); 404 otherwise."""
    username_validate(login=login)
    # lower(login) = lower(x) uses the case-insensitive unique index; iexact (UPPER) would
    # scan every user, star-graph stargazers included.
    user = (
        GitHubUser.objects.alias(login_lower=Lower("login"))
        .filter(login_lower=login.lower())
        .exclude(state=GitHubUser.State.DISCOVERED)
        .first()
    )
    if user is None:
        raise UserNotFound(f"No user {login!r}.", details={"username": login})
    return user


# ------------------------------------------------------------------------------ users
def _user_upsert(*, login: str, state: str) -> tuple[GitHubUser, bool]:
    """INSERT … ON CONFLICT on lower(login): concurrent callers get one row, then hold its
    lock until their transaction ends (so the state read after it is stable)."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO gazer_github_user (
                login, state, name, avatar_url, html_url, bio, company, location, blog,
                theme, token_encrypted, created_at, updated_at
            ) VALUES (%s, %s, '', '', '', '', '', '', '', '', '', %s, %s)
            ON CONFLICT (lower(login)) DO UPDATE SET updated_at = EXCLUDED.updated_at
            RETURNING id, (xmax = 0) AS inserted
            """,
            [login, state, now, now],
        )
        user_id, inserted = cursor.fetchone()
    return GitHubUser.objects.get(id=user_id), bool(inserted)


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

    def as_response(self) -> dict[str, Any]:
        return {
            "ok": True,
            "status": self.status,
            "processing": self.processing,
            "data_ready": self.data_ready,
        }


def user_login(*, login: str, github_token: str | None = None) -> LoginResult:
    """Seed 000's login: new → create and run; ghost → activate at once and refresh;
    existing → refresh (steps that succeeded are skipped)."""
    username_validate(login=login)
    with transaction.atomic():
        user, inserted = _user_upsert(login=login, state=GitHubUser.State.ACTIVE)
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
        queue = queues.HIGH if status == "new" else queues.LOW
        trigger = PipelineRun.Trigger.LOGIN
        run = _run_start(user_id=user.id, trigger=trigger, queue=queue)
        _account_stars_sync(user_id=user.id, is_new=status != "existing")
    has_data = status != "new" and _data_ready(user.id)
    return LoginResult(
        user_id=user.id,
        status=status,
        run_id=run.id,
        processing=status == "new" or not has_data,
        data_ready=has_data,
    )


def _data_ready(user_id: int) -> bool:
    return WorkItem.objects.filter(
        user_id=user_id,
        repo=None,
        step=pipeline.FETCH_REPOS,
        status=WorkItem.Status.SUCCEEDED,
    ).exists()


def _account_stars_sync(*, user_id: int, is_new: bool) -> None:
    """Ask the star graph to sync the account's starred repos (on commit, its side)."""
    try:
        from stargazers.services import account_stars_sync_request
    except ImportError:
        logger.info("users.stars_sync_unavailable", extra={"user_id": user_id})
        return
    account_stars_sync_request(user_id=user_id, is_new=is_new)


def ghost_create(*, login: str, force: bool = False) -> dict[str, Any]:
    """Create an inactive (ghost) user and fetch it once; 409 for an existing one."""
    username_validate(login=login)
    with transaction.atomic():
        user, inserted = _user_upsert(login=login, state=GitHubUser.State.GHOST)
        if not inserted and user.state != GitHubUser.State.DISCOVERED and not force:
            raise UserExists(
                details={"username": user.login, "is_ghost": user.state == "ghost"},
            )
        GitHubUser.objects.filter(id=user.id).update(state=GitHubUser.State.GHOST)
        run = _run_start(user_id=user.id, trigger=PipelineRun.Trigger.GHOST, queue=queues.DEFAULT)
    return {
        "ok": True,
        "created": inserted,
        "is_ghost": True,
        "processing": True,
        "run_id": run.id,
    }


def user_start(*, login: str, trigger: str = PipelineRun.Trigger.START) -> PipelineRun:
    """Start (or join) the user's pipeline; a user not yet known is created (seed 000)."""
    username_validate(login=login)
    with transaction.atomic():
        user, inserted = _user_upsert(login=login, state=GitHubUser.State.ACTIVE)
        if user.state == GitHubUser.State.DISCOVERED:
            GitHubUser.objects.filter(id=user.id).update(state=GitHubUser.State.ACTIVE)
            inserted = True
        return _run_start(
            user_id=user.id, trigger=trigger, queue=queues.HIGH if inserted else queues.LOW
        )


def user_restart(*, login: str, from_step: str | None = None) -> PipelineRun:
    """Clear derived data and run again; `from_step` clears and reruns that step and
    everything downstream of it (seed §9, done right: nothing is left half-reset and the
    run is really queued)."""
    if from_step is not None and from_step not in pipeline.ALL_STEPS:
        raise UnknownStep(
            f"Unknown step {from_step!r}.", details={"steps": list(pipeline.ALL_STEPS)}
        )
    user = user_get(login=login)
    steps = pipeline.steps_from(from_step) if from_step else list(pipeline.ALL_STEPS)
    with transaction.atomic():
        user = GitHubUser.objects.select_for_update().get(id=user.id)
        # The active run (if any) is cancelled: its steps check their run before writing.
        PipelineRun.objects.filter(user=user, status__in=PipelineRun.ACTIVE_STATUSES).update(
            status=PipelineRun.Status.CANCELLED, finished_at=timezone.now()
        )
        _derived_clear(user=user, steps=steps)
        return _run_start(
            user_id=user.id,
            trigger=PipelineRun.Trigger.RESTART,
            queue=queues.DEFAULT,
            from_step=from_step or "",
        )


def _derived_clear(*, user: GitHubUser, steps: list[str]) -> None:
    from repos import services as repo_services

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


def user_delete(*, login: str) -> dict[str, Any]:
    """Delete the user, its runs, steps and links, and the repos only it had."""
    from repos import services as repo_services

    user = user_get(login=login)
    with transaction.atomic():
        # FOR UPDATE waits for any pipeline write holding the row (FOR NO KEY UPDATE)
        # and makes later ones find no user: nothing is written after this commits.
        locked = GitHubUser.objects.select_for_update().filter(id=user.id).first()
        if locked is None:
            raise UserNotFound(f"No user {login!r}.", details={"username": login})
        repo_ids = list(UserRepo.objects.filter(user=locked).values_list("repo_id", flat=True))
        runs = PipelineRun.objects.filter(user=locked).count()
        locked.delete()
        removed = repo_services.repos_delete_orphans(repo_ids=repo_ids)
    logger.info("users.deleted", extra={"user": login, "repos_removed": removed})
    return {"ok": True, "deleted": login, "runs": runs, "repos_linked": len(repo_ids)}


# ------------------------------------------------------------------------------- runs
def _run_start(
    *,
    user_id: int,
    trigger: str,
    queue: str,
    from_step: str = "",
    selected_steps: list[str] | None = None,
    enqueue: bool = True,
) -> PipelineRun:
    """Insert a run (or join the active one: the partial unique index decides) and its
    user-scoped work items; the coordinator is enqueued on commit."""
    try:
        with transaction.atomic():
            run = PipelineRun.objects.create(
                user_id=user_id,
                trigger=trigger,
                queue=queue,
                from_step=from_step,
                selected_steps=selected_steps or [],
            )
    except IntegrityError:
        active = PipelineRun.objects.filter(
            user_id=user_id, status__in=PipelineRun.ACTIVE_STATUSES
        ).first()
        if active is not None:
            return active
        raise
    now = timezone.now()
    WorkItem.objects.bulk_create(
        [WorkItem(user_id=user_id, step=step, run=run) for step in pipeline.USER_STEPS],
        ignore_conflicts=True,
    )
    # Steps that did not succeed are due again in this run; succeeded ones are skipped
    # (the seed's idempotence), unless selected explicitly.
    # A step still running (from a cancelled run) finishes on its own first.
    redo = WorkItem.objects.filter(user_id=user_id).exclude(
        status__in=[WorkItem.Status.SUCCEEDED, WorkItem.Status.RUNNING]
    )
    redo.update(
        status=WorkItem.Status.PENDING, run=run, not_before=None, queued_at=None, updated_at=now
    )
    if selected_steps:
        WorkItem.objects.filter(user_id=user_id, step__in=selected_steps).update(
            status=WorkItem.Status.PENDING, run=run, not_before=None, queued_at=None, error=""
        )
    logger.info(
        "users.run_created", extra={"user_id": user_id, "run_id": run.id, "trigger": trigger}
    )
    if enqueue:
        transaction.on_commit(lambda: _advance_enqueue(run.id, queue))
    return run


def _advance_enqueue(run_id: int, queue: str) -> None:
    from users.tasks import pipeline_advance as pipeline_advance_task

    pipeline_advance_task.apply_async(args=[run_id], queue=queue)


def _item_enqueue(item_id: int, queue: str) -> None:
    from users.tasks import work_item_run as work_item_run_task

    work_item_run_task.apply_async(args=[item_id], queue=queue)


def run_create_for_command(*, login: str, select: list[str] | None = None) -> PipelineRun:
    """A foreground run (`manage.py run`); no coordinator is enqueued for it."""
    for step in select or []:
        if step not in pipeline.ALL_STEPS:
            raise UnknownStep(
                f"Unknown step {step!r}.", details={"steps": list(pipeline.ALL_STEPS)}
            )
    username_validate(login=login)
    with transaction.atomic():
        user, _ = _user_upsert(login=login, state=GitHubUser.State.ACTIVE)
        if user.state == GitHubUser.State.DISCOVERED:
            GitHubUser.objects.filter(id=user.id).update(state=GitHubUser.State.ACTIVE)
        active = PipelineRun.objects.filter(
            user=user, status__in=PipelineRun.ACTIVE_STATUSES
        ).first()
        if active is not None:
            from users.errors import PipelineBusy

            raise PipelineBusy(details={"run_id": active.id})
        run = _run_start(
            user_id=user.id,
            trigger=PipelineRun.Trigger.COMMAND,
            queue=queues.DEFAULT,
            selected_steps=select,
            enqueue=False,  # the command drives the run itself
        )
    return run


def _relevant_items(run: PipelineRun) -> list[WorkItem]:
    """The run's steps: user-scoped ones and the repo-scoped ones of highlighted repos."""
    selected = set(run.selected_steps or pipeline.ALL_STEPS)
    highlighted = set(
        UserRepo.objects.filter(user_id=run.user_id, highlight_rank__isnull=False).values_list(
            "repo_id", flat=True
        )
    )
    items = WorkItem.objects.filter(user_id=run.user_id).select_related("repo")
    return [
        item
        for item in items
        if item.step in selected and (item.repo_id is None or item.repo_id in highlighted)
    ]


def pipeline_advance(*, run_id: int, dispatch: bool = True) -> list[int]:
    """Move a run forward: create repo steps once highlights exist, skip steps whose
    prerequisite failed, dispatch the ready ones, and settle the run's status.

    Returns the ids of the items made ready (enqueued on commit when `dispatch`).
    Serialized per user by the user row lock; safe to call any number of times.
    """
    now = timezone.now()
    with transaction.atomic():
        run = PipelineRun.objects.filter(id=run_id).first()
        if run is None or run.status not in PipelineRun.ACTIVE_STATUSES:
            return []
        user = GitHubUser.objects.select_for_update(no_key=True).filter(id=run.user_id).first()
        if user is None:
            return []
        run = PipelineRun.objects.select_for_update().get(id=run_id)
        if run.status not in PipelineRun.ACTIVE_STATUSES:
            return []
        selected = set(run.selected_steps or pipeline.ALL_STEPS)
        select_item = WorkItem.objects.filter(
            user_id=run.user_id, repo=None, step=pipeline.SELECT_HIGHLIGHTS
        ).first()
        if select_item and select_item.status == WorkItem.Status.SUCCEEDED:
            highlighted = UserRepo.objects.filter(
                user_id=run.user_id, highlight_rank__isnull=False
            ).values_list("repo_id", flat=True)
            WorkItem.objects.bulk_create(
                [
                    WorkItem(user_id=run.user_id, repo_id=repo_id, step=step, run=run)
                    for repo_id in highlighted
                    for step in pipeline.REPO_STEPS
                    if step in selected
                ],
                ignore_conflicts=True,
            )
        items = _relevant_items(run)
        ready = _settle(run, items, now)
        status, not_before, error = _run_state(run, items, ready, now)
        run.heartbeat_at = now
        fields = ["heartbeat_at", "status", "not_before", "error"]
        if run.started_at is None and status != PipelineRun.Status.QUEUED:
            run.started_at = now
            fields.append("started_at")
        if status in (PipelineRun.Status.SUCCEEDED, PipelineRun.Status.FAILED):
            run.finished_at = now
            fields.append("finished_at")
            logger.info(
                "users.run_finished",
                extra={"run_id": run.id, "user_id": run.user_id, "status": status},
            )
            if status == PipelineRun.Status.SUCCEEDED:
                transaction.on_commit(
                    lambda u=run.user_id, r=run.id: profile_ready.send(
                        sender=PipelineRun, user_id=u, run_id=r
                    )
                )
        run.status, run.not_before, run.error = status, not_before, error
        run.save(update_fields=fields)
        if ready:
            WorkItem.objects.filter(id__in=ready).update(queued_at=now, run=run)
            if dispatch:
                queue = run.queue
                for item_id in ready:
                    transaction.on_commit(lambda i=item_id: _item_enqueue(i, queue))
    return ready


def _settle(run: PipelineRun, items: list[WorkItem], now: datetime) -> list[int]:
    """Skip items whose prerequisites failed (to a fixpoint); return the ready ones."""
    selected = set(run.selected_steps or pipeline.ALL_STEPS)
    user_items = {i.step: i for i in items if i.repo_id is None}
    all_user_items = {i.step: i for i in WorkItem.objects.filter(user_id=run.user_id, repo=None)}
    repo_items = {(i.step, i.repo_id): i for i in items if i.repo_id is not None}

    def dep_item(item: WorkItem, dep: str) -> WorkItem | None:
        if dep in pipeline.REPO_STEPS:
            return repo_items.get((dep, item.repo_id))
        return user_items.get(dep) or all_user_items.get(dep)

    skipped: list[WorkItem] = []
    changed = True
    while changed:
        changed = False
        for item in items:
            if item.status != WorkItem.Status.PENDING:
                continue
            for dep in pipeline.DEPENDS_ON[item.step]:
                if dep not in selected:
                    continue  # `run --select` takes the unselected steps as they are
                other = dep_item(item, dep)
                if other is not None and other.status in (
                    WorkItem.Status.FAILED,
                    WorkItem.Status.SKIPPED,
                ):
                    item.status = WorkItem.Status.SKIPPED
                    item.output = {"reason": f"{dep} {other.status}"}
                    item.finished_at = now
                    skipped.append(item)
                    changed = True
                    break
    if skipped:
        WorkItem.objects.bulk_update(skipped, ["status", "output", "finished_at"])
    ready: list[int] = []
    for item in items:
        if item.status != WorkItem.Status.PENDING:
            continue
        if item.not_before and item.not_before > now:
            continue
        if item.queued_at and item.queued_at > now - REDISPATCH_AFTER:
            continue
        deps_done = True
        for dep in pipeline.DEPENDS_ON[item.step]:
            if dep not in selected:
                continue
            other = dep_item(item, dep)
            if other is None or other.status != WorkItem.Status.SUCCEEDED:
                deps_done = False
                break
        if deps_done:
            ready.append(item.id)
    return ready


def _run_state(
    run: PipelineRun, items: list[WorkItem], ready: list[int], now: datetime
) -> tuple[str, datetime | None, str]:
    statuses = [i.status for i in items]
    if all(s in TERMINAL for s in statuses):
        failed = [
            i
            for i in items
            if i.status == WorkItem.Status.FAILED and i.step in pipeline.REQUIRED_STEPS
        ]
        if failed:
            return PipelineRun.Status.FAILED, None, failed[0].error
        return PipelineRun.Status.SUCCEEDED, None, ""
    if any(s == WorkItem.Status.RUNNING for s in statuses):
        return PipelineRun.Status.RUNNING, None, ""
    waits = [
        i.not_before
        for i in items
        if i.status == WorkItem.Status.PENDING and i.not_before and i.not_before > now
    ]
    # Busy: dispatched (or being dispatched now) and due. Pending steps that wait on a
    # prerequisite do not count: they wait for the same reset.
    busy = [
        i
        for i in items
        if i.status == WorkItem.Status.PENDING
        and not (i.not_before and i.not_before > now)
        and (i.id in ready or (i.queued_at and i.queued_at > now - REDISPATCH_AFTER))
    ]
    if waits and not busy:
        return PipelineRun.Status.WAITING, min(waits), "rate limited"
    # Queued until a step is claimed (work_item_run flips it to running).
    if run.status == PipelineRun.Status.QUEUED:
        return PipelineRun.Status.QUEUED, None, ""
    return PipelineRun.Status.RUNNING, None, ""


# ------------------------------------------------------------------------------ steps
class RetryLater(Exception):
    """The step task should retry itself after `countdown` seconds (Celery retry)."""

    def __init__(self, countdown: float):
        self.countdown = countdown
        super().__init__(f"retry in {countdown:.0f}s")


def _backoff(attempt: int) -> float:
    return min(300.0, 5.0 * 2 ** max(0, attempt - 1)) * random.uniform(0.8, 1.2)  # noqa: S311


def work_item_run(*, item_id: int, final_attempt: bool = False, advance: bool = True) -> str:
    """Claim one step, run it, record the outcome. Returns what happened (for logs).

    Idempotent: a row that is gone, already done, not yet due or claimed by another
    delivery is left alone.
    """
    from workers.github import errors as gh_errors

    now = timezone.now()
    item = WorkItem.objects.filter(id=item_id).select_related("user", "repo", "run").first()
    if item is None:
        return "gone"
    if item.status != WorkItem.Status.PENDING or (item.not_before and item.not_before > now):
        return "not_due"
    if item.run is not None and item.run.status not in PipelineRun.ACTIVE_STATUSES:
        return "run_inactive"
    claimed = WorkItem.objects.filter(id=item_id, status=WorkItem.Status.PENDING).update(
        status=WorkItem.Status.RUNNING,
        attempts=item.attempts + 1,
        started_at=now,
        finished_at=None,
        error="",
        updated_at=now,
    )
    if not claimed:
        return "not_claimed"
    if item.run_id:
        PipelineRun.objects.filter(
            id=item.run_id, status__in=[PipelineRun.Status.QUEUED, PipelineRun.Status.WAITING]
        ).update(
            status=PipelineRun.Status.RUNNING,
            started_at=Coalesce("started_at", Value(now, output_field=DateTimeField())),
            not_before=None,
            error="",
        )
    item.attempts += 1
    token = token_decrypt(item.user.token_encrypted)
    ctx = pipeline.StepContext(user=item.user, item=item, repo=item.repo, token=token)
    step = pipeline.STEP_FUNCTIONS[item.step]
    outcome = "succeeded"
    try:
        try:
            output = step(ctx)
        except gh_errors.BadCredentials:
            if not ctx.token:
                raise
            # A revoked account token: the server pool does the work instead.
            logger.warning("users.account_token_rejected", extra={"user_id": item.user_id})
            ctx.token = None
            output = step(ctx)
        _item_finish(item, WorkItem.Status.SUCCEEDED, output=output)
    except pipeline.UserGone:
        logger.info("users.step_user_gone", extra={"item_id": item_id, "step": item.step})
        return "gone"
    except pipeline.StepSkipped as exc:
        _item_finish(item, WorkItem.Status.SKIPPED, output=exc.output)
        outcome = "skipped"
    except pipeline.StepFailed as exc:
        _item_finish(item, WorkItem.Status.FAILED, output=exc.output, error=str(exc))
        outcome = "failed"
    except gh_errors.RateLimited as exc:
        # Never sleep: the row waits for the reset and the sweep resumes it.
        _item_wait(item, exc.reset_at, f"rate limited ({exc.resource}) until {exc.reset_at}")
        outcome = "waiting"
    except gh_errors.SecondaryRateLimited as exc:
        if exc.retry_after <= SECONDARY_RETRY_MAX_SECONDS:
            _item_back_to_pending(item, str(exc))
            raise RetryLater(exc.retry_after + random.uniform(1, 10)) from None  # noqa: S311
        _item_wait(item, timezone.now() + timedelta(seconds=exc.retry_after), str(exc))
        outcome = "waiting"
    except (gh_errors.Transient, OperationalError) as exc:
        if not final_attempt and item.attempts <= MAX_TRANSIENT_RETRIES:
            _item_back_to_pending(item, str(exc)[:500])
            raise RetryLater(_backoff(item.attempts)) from None
        _item_finish(item, WorkItem.Status.FAILED, error=_message(exc))
        outcome = "failed"
    except Exception as exc:
        if not WorkItem.objects.filter(id=item_id).exists():
            # Deleted while it ran (a write raced the deletion): nothing to record.
            logger.info("users.step_user_gone", extra={"item_id": item_id, "step": item.step})
            return "gone"
        logger.exception("users.step_failed", extra={"item_id": item_id, "step": item.step})
        _item_finish(item, WorkItem.Status.FAILED, error=_message(exc))
        outcome = "failed"
    if item.run_id and advance:
        run_id, queue = item.run_id, item.run.queue if item.run else queues.DEFAULT
        transaction.on_commit(lambda: _advance_enqueue(run_id, queue))
    return outcome


def _message(exc: BaseException) -> str:
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}"[:2000]


def _item_finish(
    item: WorkItem, status: str, *, output: dict | None = None, error: str = ""
) -> None:
    now = timezone.now()
    WorkItem.objects.filter(id=item.id, status=WorkItem.Status.RUNNING).update(
        status=status,
        output=output,
        error=error,
        finished_at=now,
        not_before=None,
        updated_at=now,
    )
    logger.info(
        "users.step_finished",
        extra={"item_id": item.id, "step": item.step, "status": status, "user_id": item.user_id},
    )


def _item_back_to_pending(item: WorkItem, error: str) -> None:
    WorkItem.objects.filter(id=item.id, status=WorkItem.Status.RUNNING).update(
        status=WorkItem.Status.PENDING, error=error[:2000], queued_at=timezone.now()
    )


def _item_wait(item: WorkItem, not_before: datetime, error: str) -> None:
    now = timezone.now()
    WorkItem.objects.filter(id=item.id, status=WorkItem.Status.RUNNING).update(
        status=WorkItem.Status.PENDING,
        not_before=not_before,
        error=error[:2000],
        queued_at=None,
        updated_at=now,
    )
    if item.run_id:
        PipelineRun.objects.filter(id=item.run_id, status__in=PipelineRun.ACTIVE_STATUSES).update(
            status=PipelineRun.Status.WAITING, not_before=not_before, error=error[:500]
        )
    logger.info(
        "users.step_rate_limited",
        extra={"item_id": item.id, "step": item.step, "not_before": not_before.isoformat()},
    )


def pipeline_sweep() -> dict[str, int]:
    """Beat: recover steps whose worker died, and advance runs that are due or idle."""
    now = timezone.now()
    stale = WorkItem.objects.filter(
        status=WorkItem.Status.RUNNING, started_at__lt=now - STALE_RUNNING_AFTER
    ).update(status=WorkItem.Status.PENDING, queued_at=None, error="worker lost; retrying")
    due = list(
        PipelineRun.objects.filter(status__in=PipelineRun.ACTIVE_STATUSES)
        .exclude(status=PipelineRun.Status.WAITING, not_before__gt=now)
        .filter(_due_runs_q(now))
        .values_list("id", "queue")
    )
    for run_id, queue in due:
        _advance_enqueue(run_id, queue)
    if stale or due:
        logger.info("users.pipeline_swept", extra={"stale_items": stale, "runs": len(due)})
    return {"stale_items": stale, "runs_advanced": len(due)}


def _due_runs_q(now: datetime) -> Q:
    return (
        Q(status=PipelineRun.Status.WAITING)
        | Q(heartbeat_at__isnull=True, created_at__lt=now - RUN_IDLE_AFTER)
        | Q(heartbeat_at__lt=now - RUN_IDLE_AFTER)
    )
