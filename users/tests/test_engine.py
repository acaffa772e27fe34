"""The run engine alone: settle and advance on rows, and how each outcome of a step
(its own, or a gateway error) lands on its row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis
from django.db import OperationalError
from django.utils import timezone

from repos.models import Repo, UserRepo
from users import engine, pipeline, selectors, services, tasks
from users.models import PipelineRun, WorkItem
from users.tokens import token_encrypt
from workers import retry
from workers.github import errors as gh_errors

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------ settle, advance
def _run_with(statuses: dict[str, str]) -> PipelineRun:
    run = services.run_create_for_command(login="ada")
    for step, status in statuses.items():
        WorkItem.objects.filter(user_id=run.user_id, step=step, repo=None).update(status=status)
    return run


def _items(run: PipelineRun) -> dict[str, WorkItem]:
    return {i.step: i for i in engine.run_items(PipelineRun.objects.get(id=run.id))}


def test_settle_readies_what_has_its_prerequisites():
    run = _run_with({"fetch_profile": "succeeded"})
    ready = engine.settle(run, list(_items(run).values()), timezone.now())
    assert [WorkItem.objects.get(id=i).step for i in ready] == ["fetch_repos"]


def test_settle_skips_downstream_of_a_failure_to_a_fixpoint():
    run = _run_with({"fetch_profile": "succeeded", "fetch_repos": "failed"})
    items = list(_items(run).values())
    assert engine.settle(run, items, timezone.now()) == []
    rows = _items(run)
    assert rows["select_highlights"].status == "skipped"
    assert rows["select_highlights"].output == {"reason": "fetch_repos failed"}
    assert rows["user_theme"].status == "skipped"  # through select_highlights
    assert rows["user_theme"].output == {"reason": "select_highlights skipped"}


def test_settle_leaves_waiting_and_recently_dispatched_rows():
    run = _run_with({"fetch_profile": "succeeded"})
    later = timezone.now() + timedelta(minutes=5)
    WorkItem.objects.filter(user_id=run.user_id, step="fetch_repos").update(not_before=later)
    assert engine.settle(run, list(_items(run).values()), timezone.now()) == []
    WorkItem.objects.filter(user_id=run.user_id, step="fetch_repos").update(
        not_before=None, queued_at=timezone.now()
    )
    assert engine.settle(run, list(_items(run).values()), timezone.now()) == []
    WorkItem.objects.filter(user_id=run.user_id, step="fetch_repos").update(
        queued_at=timezone.now() - engine.REDISPATCH_AFTER - timedelta(seconds=1)
    )
    assert len(engine.settle(run, list(_items(run).values()), timezone.now())) == 1


def test_advance_creates_repo_steps_once_highlights_exist():
    run = _run_with({"fetch_profile": "succeeded", "fetch_repos": "succeeded"})
    repo = Repo.objects.create(full_name="ada/tool", owner_login="ada", name="tool")
    UserRepo.objects.create(user_id=run.user_id, repo=repo, include_reason="owned")
    engine.pipeline_advance(run_id=run.id, dispatch=False)
    assert not WorkItem.objects.filter(user_id=run.user_id, repo=repo).exists()
    UserRepo.objects.filter(repo=repo).update(highlight_rank=1)
    WorkItem.objects.filter(user_id=run.user_id, step="select_highlights").update(
        status="succeeded"
    )
    ready = engine.pipeline_advance(run_id=run.id, dispatch=False)
    repo_steps = set(
        WorkItem.objects.filter(user_id=run.user_id, repo=repo).values_list("step", flat=True)
    )
    assert repo_steps == set(pipeline.steps_of_scope("repo"))
    ready_steps = {WorkItem.objects.get(id=i).step for i in ready}
    assert ready_steps == {"user_theme", "repo_blurb", "repo_link", "repo_media"}
    assert PipelineRun.objects.get(id=run.id).status == PipelineRun.Status.QUEUED


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ({"fetch_profile": "failed"}, PipelineRun.Status.FAILED),
        (
            {s: "succeeded" for s in ("fetch_profile", "fetch_repos", "select_highlights")}
            | {"user_theme": "failed"},
            PipelineRun.Status.SUCCEEDED,  # an optional step may fail
        ),
    ],
)
def test_advance_settles_the_run(builtin_only, statuses, expected):
    run = _run_with(statuses)
    engine.pipeline_advance(run_id=run.id, dispatch=False)
    assert PipelineRun.objects.get(id=run.id).status == expected


def test_advance_says_waiting_while_every_due_step_waits_on_a_limit():
    run = _run_with({"fetch_profile": "succeeded"})
    reset = timezone.now() + timedelta(minutes=30)
    WorkItem.objects.filter(user_id=run.user_id, step="fetch_repos").update(not_before=reset)
    engine.pipeline_advance(run_id=run.id, dispatch=False)
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.WAITING and run.not_before == reset


# ------------------------------------------------- a step's outcome on its row
PROBE = "probe_step"


@pytest.fixture
def probe():
    """A registered step whose behaviour each test sets: `probe.raises = exc`."""

    class Probe:
        raises: BaseException | None = None
        tokens: list[str | None] = []

        def run(self, ctx):
            self.tokens.append(ctx.token)
            if self.raises is not None:
                error, self.raises = (
                    self.raises,
                    (None if isinstance(self.raises, gh_errors.BadCredentials) else self.raises),
                )
                raise error
            return {"ok": "done"}

    instance = Probe()
    instance.tokens = []
    pipeline.step_register(pipeline.Step(name=PROBE, scope="user", run=instance.run))
    yield instance
    pipeline.step_unregister(PROBE)


def _probe_item(token: str = "") -> WorkItem:
    run = services.run_create_for_command(login="bea", select=[PROBE])
    if token:
        run.user.__class__.objects.filter(id=run.user_id).update(
            token_encrypted=token_encrypt(token)
        )
    return WorkItem.objects.get(user_id=run.user_id, step=PROBE)


RESET = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("error", "outcome", "status"),
    [
        (None, "succeeded", "succeeded"),
        (pipeline.StepSkipped({"reason": "nothing"}), "skipped", "skipped"),
        (pipeline.StepFailed("no such GitHub user"), "failed", "failed"),
        (gh_errors.NotFound("HTTP 404"), "failed", "failed"),
        (gh_errors.Blocked("HTTP 451"), "failed", "failed"),
        (ValueError("a bug"), "failed", "failed"),
        (gh_errors.RateLimited(reset_at=RESET), "waiting", "pending"),
        (gh_errors.SecondaryRateLimited(retry_after=3600), "waiting", "pending"),
    ],
)
def test_outcomes_on_the_row(probe, error, outcome, status):
    probe.raises = error
    item = _probe_item()
    assert engine.work_item_run(item_id=item.id, advance=False) == outcome
    item.refresh_from_db()
    assert item.status == status
    if isinstance(error, gh_errors.RateLimited):
        assert item.not_before == RESET and item.queued_at is None
        assert item.run.status == PipelineRun.Status.WAITING
    if isinstance(error, gh_errors.SecondaryRateLimited):
        assert item.not_before > timezone.now() + timedelta(seconds=3599)
    if outcome == "failed":
        assert item.error


def test_a_short_secondary_limit_goes_back_to_pending_for_a_task_retry(probe):
    probe.raises = gh_errors.SecondaryRateLimited(retry_after=30)
    item = _probe_item()
    with pytest.raises(retry.RetryLater) as caught:
        engine.work_item_run(item_id=item.id, advance=False)
    assert 0 < caught.value.countdown <= retry.BACKOFF_MAX_SECONDS
    item.refresh_from_db()
    assert item.status == "pending" and item.not_before is None and item.error


@pytest.mark.parametrize("final_attempt", [False, True])
def test_transient_errors_wait_on_the_row_and_progress_says_so(
    probe, settings, django_capture_on_commit_callbacks, final_attempt
):
    settings.PIPELINE_TRANSIENT_BACKOFF_SECONDS = 40
    probe.raises = gh_errors.Transient("GET /users/bea: HTTP 502", status=502)
    item = _probe_item()
    before = timezone.now()
    with django_capture_on_commit_callbacks() as callbacks:
        outcome = engine.work_item_run(item_id=item.id, final_attempt=final_attempt, advance=False)
    assert outcome == "waiting"
    assert len(callbacks) == 1  # the coordinator, counted down to the wait's end
    item.refresh_from_db()
    assert item.status == "pending" and item.queued_at is None
    assert before + timedelta(seconds=32) <= item.not_before <= before + timedelta(seconds=49)
    assert item.error.startswith(f"GitHub errors; retrying at {item.not_before.isoformat()[:16]}")
    assert "HTTP 502" in item.error
    progress = selectors.user_progress(user=item.user)
    assert progress["state"] == "waiting"
    assert progress["message"].startswith("GitHub errors; retrying at")


@pytest.mark.parametrize(
    ("error", "source"),
    [
        (redis.exceptions.ConnectionError("Error 111 connecting. Connection refused."), "Redis"),
        (redis.exceptions.TimeoutError("Timeout reading from socket"), "Redis"),
        (OperationalError("could not connect to server"), "database"),
    ],
)
def test_redis_or_the_database_out_of_reach_makes_the_step_wait(probe, error, source):
    """A restarting Redis (the gateway's budget and kept answers live there) or database
    delays a step; it never fails it."""
    probe.raises = error
    item = _probe_item()
    assert engine.work_item_run(item_id=item.id, advance=False) == "waiting"
    item.refresh_from_db()
    assert item.status == "pending" and item.not_before is not None
    assert item.error.startswith(f"{source} errors; retrying at")


def test_transient_waits_grow_and_are_capped(settings):
    settings.PIPELINE_TRANSIENT_BACKOFF_SECONDS = 30
    settings.PIPELINE_TRANSIENT_BACKOFF_MAX_SECONDS = 1800
    waits = [retry.row_backoff(n) for n in range(1, 12)]
    assert 24 <= waits[0] <= 36 and 48 <= waits[1] <= 72
    assert all(1440 <= wait <= 2160 for wait in waits[7:])


def test_transient_errors_past_the_horizon_fail_with_the_last_error(probe, settings):
    settings.PIPELINE_TRANSIENT_HORIZON_SECONDS = 3600
    probe.raises = gh_errors.Transient("GET /users/bea: HTTP 503", status=503)
    item = _probe_item()
    PipelineRun.objects.filter(id=item.run_id).update(
        created_at=timezone.now() - timedelta(seconds=3601)
    )
    assert engine.work_item_run(item_id=item.id, advance=False) == "failed"
    item.refresh_from_db()
    assert item.status == "failed" and "HTTP 503" in item.error


def test_a_new_run_gives_every_step_a_fresh_attempt_budget():
    run = services.run_create_for_command(login="cleo")
    WorkItem.objects.filter(user_id=run.user_id).update(attempts=7)
    WorkItem.objects.filter(user_id=run.user_id, step="fetch_profile").update(status="succeeded")
    WorkItem.objects.filter(user_id=run.user_id, step="fetch_repos").update(status="failed")
    engine.run_cancel(run_id=run.id)
    again = engine.run_start(
        user_id=run.user_id, trigger=PipelineRun.Trigger.LOGIN, queue="default", enqueue=False
    )
    rows = {i.step: i for i in WorkItem.objects.filter(user_id=run.user_id, repo=None)}
    assert rows["fetch_repos"].status == "pending" and rows["fetch_repos"].attempts == 0
    assert rows["fetch_repos"].run_id == again.id
    assert rows["fetch_profile"].status == "succeeded" and rows["fetch_profile"].attempts == 7


@pytest.mark.parametrize("task_name", ["work_item_run", "pipeline_advance"])
def test_a_database_error_before_anything_is_recorded_is_retried_by_the_task(
    monkeypatch, task_name
):
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("couldn't get a connection after 30.00 sec")
        return "succeeded" if task_name == "work_item_run" else [1, 2]

    monkeypatch.setattr(engine, task_name, flaky)
    result = getattr(tasks, task_name).apply(args=[123])
    assert result.successful() and len(calls) == 2


def test_a_revoked_account_token_runs_again_on_the_pool(probe):
    probe.raises = gh_errors.BadCredentials("HTTP 401")
    item = _probe_item(token="revoked")
    assert engine.work_item_run(item_id=item.id, advance=False) == "succeeded"
    assert probe.tokens == ["revoked", None]


def test_user_gone_stops_quietly(probe):
    probe.raises = pipeline.UserGone()
    item = _probe_item()
    assert engine.work_item_run(item_id=item.id, advance=False) == "gone"
