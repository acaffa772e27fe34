"""The run engine: start a run, advance it, settle its steps, run one step, sweep.

The database is the record: a run (`PipelineRun`) and one row per step (`WorkItem`).
`run_start` inserts the run and enqueues its coordinator on commit; the coordinator
(`pipeline_advance`) dispatches the steps whose prerequisites are done; each step task
(`work_item_run`) claims its row, runs, records the outcome and calls the coordinator
again. A beat sweep (`pipeline_sweep`) re-enqueues what is due, so a lost message or a
rate-limit wait resumes by itself. `run_drive` is the same engine in one process (the
`run` command): it advances and runs the ready steps itself instead of enqueuing them.
Which steps exist, and what each needs first, comes from the step registry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from repos.models import UserRepo
from users import pipeline, signals
from users.errors import PipelineBusy
from users.models import GitHubUser, PipelineRun, WorkItem
from users.tasks import pipeline_advance as pipeline_advance_task
from users.tasks import work_item_run as work_item_run_task
from users.tokens import token_decrypt
from workers import queues, retry
from workers.github import errors as gh_errors
from workers.github import github, memo
from workers.retry import RetryLater

logger = logging.getLogger(__name__)

# A dispatched step whose message was lost is dispatched again after this long.
REDISPATCH_AFTER = timedelta(minutes=5)
# A step still `running` this long after it started outlived its hard time limit.
STALE_RUNNING_AFTER = timedelta(minutes=10)
# An active run not advanced this long is advanced by the sweep.
RUN_IDLE_AFTER = timedelta(minutes=2)

TERMINAL = (WorkItem.Status.SUCCEEDED, WorkItem.Status.FAILED, WorkItem.Status.SKIPPED)


# ------------------------------------------------------------------------------ start
def run_start(
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
        [WorkItem(user_id=user_id, step=step, run=run) for step in pipeline.steps_of_scope("user")],
        ignore_conflicts=True,
    )
    # Steps that did not succeed are due again in this run; succeeded ones are skipped
    # (a rerun is idempotent), unless selected explicitly.
    # A step still running (from a cancelled run) finishes on its own first.
    redo = WorkItem.objects.filter(user_id=user_id).exclude(
        status__in=[WorkItem.Status.SUCCEEDED, WorkItem.Status.RUNNING]
    )
    # Every step the run runs starts with a fresh attempt budget.
    fresh = {"run": run, "not_before": None, "queued_at": None, "attempts": 0, "updated_at": now}
    redo.update(status=WorkItem.Status.PENDING, **fresh)
    if not from_step and not selected_steps:
        # Incremental steps refresh in every whole run (unchanged, they cost only 304s); a
        # restart ?from= or a --select reruns just what it names.
        WorkItem.objects.filter(
            user_id=user_id, step__in=pipeline.steps_refreshing(), status=WorkItem.Status.SUCCEEDED
        ).update(status=WorkItem.Status.PENDING, **fresh)
    if selected_steps:
        WorkItem.objects.filter(user_id=user_id, step__in=selected_steps).update(
            status=WorkItem.Status.PENDING, error="", **fresh
        )
    logger.info(
        "users.run_created", extra={"user_id": user_id, "run_id": run.id, "trigger": trigger}
    )
    if enqueue:
        transaction.on_commit(lambda: _advance_enqueue(run.id, queue))
    return run


def run_start_foreground(*, user: GitHubUser, select: list[str] | None = None) -> PipelineRun:
    """A run this process drives itself (`manage.py run`): no coordinator is enqueued.
    The caller holds the user row in its transaction; a run already active is refused."""
    active = PipelineRun.objects.filter(user=user, status__in=PipelineRun.ACTIVE_STATUSES).first()
    if active is not None:
        raise PipelineBusy(details={"run_id": active.id})
    return run_start(
        user_id=user.id,
        trigger=PipelineRun.Trigger.COMMAND,
        queue=queues.DEFAULT,
        selected_steps=select,
        enqueue=False,
    )


def run_cancel(*, run_id: int) -> None:
    PipelineRun.objects.filter(id=run_id).update(
        status=PipelineRun.Status.CANCELLED, finished_at=timezone.now()
    )


def _advance_enqueue(run_id: int, queue: str, countdown: float | None = None) -> None:
    pipeline_advance_task.apply_async(args=[run_id], queue=queue, countdown=countdown)


def _item_enqueue(item_id: int, queue: str) -> None:
    work_item_run_task.apply_async(args=[item_id], queue=queue)


# ---------------------------------------------------------------------------- advance
def run_items(run: PipelineRun) -> list[WorkItem]:
    """The run's steps: user-scoped ones and the repo-scoped ones of highlighted repos."""
    selected = set(run.selected_steps or pipeline.steps_all())
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
        selected = set(run.selected_steps or pipeline.steps_all())
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
                    for step in pipeline.steps_of_scope("repo")
                    if step in selected
                ],
                ignore_conflicts=True,
            )
        items = run_items(run)
        ready = settle(run, items, now)
        status, not_before, error = run_state(run, items, ready, now)
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
            user_id = run.user_id
            transaction.on_commit(
                lambda: signals.profile_ready.send(
                    sender=PipelineRun, user_id=user_id, run_id=run_id
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


def settle(run: PipelineRun, items: list[WorkItem], now: datetime) -> list[int]:
    """Skip items whose prerequisites failed (to a fixpoint); return the ready ones."""
    selected = set(run.selected_steps or pipeline.steps_all())
    repo_scoped = set(pipeline.steps_of_scope("repo"))
    user_items = {i.step: i for i in items if i.repo_id is None}
    all_user_items = {i.step: i for i in WorkItem.objects.filter(user_id=run.user_id, repo=None)}
    repo_items = {(i.step, i.repo_id): i for i in items if i.repo_id is not None}

    def dep_item(item: WorkItem, dep: str) -> WorkItem | None:
        if dep in repo_scoped:
            return repo_items.get((dep, item.repo_id))
        return user_items.get(dep) or all_user_items.get(dep)

    def deps_of(item: WorkItem) -> tuple[str, ...]:
        # A row of a step no longer registered has no prerequisites to wait for.
        return pipeline.depends_on(item.step) if pipeline.step_known(item.step) else ()

    skipped: list[WorkItem] = []
    changed = True
    while changed:
        changed = False
        for item in items:
            if item.status != WorkItem.Status.PENDING:
                continue
            for dep in deps_of(item):
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
        for dep in deps_of(item):
            if dep not in selected:
                continue
            other = dep_item(item, dep)
            if other is None or other.status != WorkItem.Status.SUCCEEDED:
                deps_done = False
                break
        if deps_done:
            ready.append(item.id)
    return ready


def run_state(
    run: PipelineRun, items: list[WorkItem], ready: list[int], now: datetime
) -> tuple[str, datetime | None, str]:
    """The run's (status, not_before, error) from its items."""
    statuses = [i.status for i in items]
    if all(s in TERMINAL for s in statuses):
        required = pipeline.steps_required()
        failed = [i for i in items if i.status == WorkItem.Status.FAILED and i.step in required]
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
        first = min(
            (i for i in items if i.status == WorkItem.Status.PENDING and i.not_before in waits),
            key=lambda i: i.not_before,
        )
        # What the run waits for, as the waiting step recorded it (a rate limit's reset,
        # or "GitHub errors; retrying at T").
        return PipelineRun.Status.WAITING, first.not_before, (first.error or "rate limited")[:500]
    # Queued until a step is claimed (work_item_run flips it to running).
    if run.status == PipelineRun.Status.QUEUED:
        return PipelineRun.Status.QUEUED, None, ""
    return PipelineRun.Status.RUNNING, None, ""


# ------------------------------------------------------------------- run one step
def work_item_run(*, item_id: int, final_attempt: bool = False, advance: bool = True) -> str:
    """Claim one step, run it, record the outcome. Returns what happened (for logs).

    Idempotent: a row that is gone, already done, not yet due or claimed by another
    delivery is left alone. Outcomes by error (workers.retry's policy): StepSkipped /
    StepFailed as they say; a rate limit or a long secondary limit waits on the row
    (`not_before`, resumed by the sweep); a short secondary limit goes back to pending
    and raises RetryLater for the task; transient errors wait on the row with growing
    backoff until the run passes the transient horizon (`_item_transient`); any other
    error fails the step. GitHub's answers are kept across the step's retries in a run.
    """
    claimed = _item_claim(item_id)
    if isinstance(claimed, str):
        return claimed
    outcome = _item_run_recorded(claimed, final_attempt=final_attempt)
    if outcome != "gone" and claimed.run_id and advance:
        run_id = claimed.run_id
        queue = claimed.run.queue if claimed.run else queues.DEFAULT
        transaction.on_commit(lambda: _advance_enqueue(run_id, queue))
    return outcome


def _item_claim(item_id: int) -> WorkItem | str:
    """The step's row, claimed for this delivery (its run marked running), or why not:
    "gone", "not_due", "run_inactive", "not_claimed"."""
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
    return item


def _item_run_recorded(item: WorkItem, *, final_attempt: bool) -> str:
    """Run a claimed step and record its outcome on the row; returns the outcome."""
    item_id = item.id
    token = token_decrypt(item.user.token_encrypted)
    ctx = pipeline.StepContext(user=item.user, item=item, repo=item.repo, token=token)
    step = pipeline.step_get(item.step).run
    # GitHub's answers to this step in this run are kept until it ends, so a retry after a
    # failure halfway sends only the requests that had not been answered.
    kept = f"work_item:{item.id}:run:{item.run_id or 0}"
    outcome = "succeeded"
    try:
        with memo.responses_kept(kept):
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
        _item_wait(
            item, retry.wait_until(exc), f"rate limited ({exc.resource}) until {exc.reset_at}"
        )
        outcome = "waiting"
    except gh_errors.SecondaryRateLimited as exc:
        countdown = retry.short_wait(exc)
        if countdown is not None and not final_attempt:
            _item_back_to_pending(item, str(exc))
            raise RetryLater(countdown) from None
        _item_wait(item, retry.wait_until(exc), str(exc))
        outcome = "waiting"
    except retry.TRANSIENT_ERRORS as exc:
        outcome = _item_transient(item, exc)
    except Exception as exc:
        if not WorkItem.objects.filter(id=item_id).exists():
            # Deleted while it ran (a write raced the deletion): nothing to record.
            logger.info("users.step_user_gone", extra={"item_id": item_id, "step": item.step})
            return "gone"
        logger.exception("users.step_failed", extra={"item_id": item_id, "step": item.step})
        _item_finish(item, WorkItem.Status.FAILED, error=_message(exc))
        outcome = "failed"
    if outcome != "waiting":
        github().memo.drop(kept)
    return outcome


def _item_transient(item: WorkItem, exc: BaseException) -> str:
    """Transient trouble that outlived the call's own retries: the step waits on its row
    (growing, capped backoff; the sweep resumes it) until the run is older than the
    transient horizon, then fails with this last error."""
    now = timezone.now()
    began = item.run.created_at if item.run is not None else item.started_at or now
    horizon = timedelta(seconds=settings.PIPELINE_TRANSIENT_HORIZON_SECONDS)
    if now - began >= horizon:
        _item_finish(item, WorkItem.Status.FAILED, error=_message(exc))
        return "failed"
    wait = retry.row_backoff(item.attempts)
    not_before = now + timedelta(seconds=wait)
    if isinstance(exc, gh_errors.GitHubError):
        source = "GitHub"
    elif isinstance(exc, retry.REDIS_ERRORS):
        source = "Redis"
    else:
        source = "database"
    reason = f"{source} errors; retrying at {not_before.isoformat(timespec='seconds')}"
    _item_wait(item, not_before, f"{reason} ({_message(exc)})")
    if item.run_id and wait <= retry.SHORT_WAIT_MAX_SECONDS:
        # A wait this short is also a countdown (well inside the broker's visibility
        # timeout), so the step resumes on time; the row stays the record for the sweep.
        run_id, queue = item.run_id, item.run.queue if item.run else queues.DEFAULT
        transaction.on_commit(lambda: _advance_enqueue(run_id, queue, countdown=wait + 1))
    return "waiting"


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
        "users.step_waiting",
        extra={
            "item_id": item.id,
            "step": item.step,
            "not_before": not_before.isoformat(),
            "reason": error[:200],
        },
    )


# ------------------------------------------------------------------------------ sweep
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


# ---------------------------------------------------------------------- in-process
class RunStuck(Exception):
    """A foreground run has steps left but none it can run."""


def run_drive(
    *,
    run_id: int,
    on_progress: Callable[[int, int, str], None] = lambda done, total, note: None,
    sleep: Callable[[float], None] = time.sleep,
) -> PipelineRun:
    """Drive a run to its end in this process: the coordinator's advance, then each
    ready step run here instead of enqueued, until the run settles.

    This is the only place that waits: a foreground command may sleep through a rate
    limit or a retry's backoff (at most a minute at a time); workers never do.
    `on_progress(done, total, note)` is told before each step and after each pass.
    """
    idle = 0
    while True:
        ready = pipeline_advance(run_id=run_id, dispatch=False)
        run = PipelineRun.objects.get(id=run_id)
        items = run_items(run)
        done = sum(1 for i in items if i.status in TERMINAL)
        on_progress(done, len(items), "")
        if run.status not in PipelineRun.ACTIVE_STATUSES:
            return run
        if not ready:
            waits = [
                i.not_before for i in items if i.status == WorkItem.Status.PENDING and i.not_before
            ]
            if waits:
                pause = max(1.0, (min(waits) - timezone.now()).total_seconds() + 1)
                on_progress(done, len(items), f"waiting until {min(waits):%H:%M:%S}")
                sleep(min(pause, 60))
                continue
            idle += 1
            if idle > 3:
                raise RunStuck("the run cannot make progress; see `progress`")
            # Dispatched earlier but not run: take them now.
            WorkItem.objects.filter(
                id__in=[i.id for i in items if i.status == WorkItem.Status.PENDING]
            ).update(queued_at=None)
            continue
        idle = 0
        for item_id in ready:
            item = WorkItem.objects.select_related("repo").get(id=item_id)
            where = f" {item.repo.full_name}" if item.repo_id else ""
            on_progress(done, len(items), f"{item.step}{where}")
            while True:
                try:
                    work_item_run(item_id=item_id, advance=False)
                    break
                except RetryLater as exc:
                    sleep(min(exc.countdown, 60))
            done += 1
