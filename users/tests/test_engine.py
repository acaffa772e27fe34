"""The run engine alone: settle and advance on rows, and how each outcome of a step
(its own, or a gateway error) lands on its row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from repos.models import Repo, UserRepo
from users import engine, pipeline, services
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


@pytest.mark.parametrize(
    "error", [gh_errors.Transient("HTTP 502"), gh_errors.SecondaryRateLimited(retry_after=30)]
)
def test_transient_and_short_limits_go_back_to_pending_for_a_task_retry(probe, error):
    probe.raises = error
    item = _probe_item()
    with pytest.raises(retry.RetryLater) as caught:
        engine.work_item_run(item_id=item.id, advance=False)
    assert 0 < caught.value.countdown <= retry.BACKOFF_MAX_SECONDS
    item.refresh_from_db()
    assert item.status == "pending" and item.not_before is None and item.error


def test_transient_on_the_final_attempt_fails_the_step(probe):
    probe.raises = gh_errors.Transient("HTTP 503")
    item = _probe_item()
    assert engine.work_item_run(item_id=item.id, final_attempt=True, advance=False) == "failed"
    item.refresh_from_db()
    assert item.status == "failed" and "Transient" in item.error


def test_a_revoked_account_token_runs_again_on_the_pool(probe):
    probe.raises = gh_errors.BadCredentials("HTTP 401")
    item = _probe_item(token="revoked")
    assert engine.work_item_run(item_id=item.id, advance=False) == "succeeded"
    assert probe.tokens == ["revoked", None]


def test_user_gone_stops_quietly(probe):
    probe.raises = pipeline.UserGone()
    item = _probe_item()
    assert engine.work_item_run(item_id=item.id, advance=False) == "gone"
