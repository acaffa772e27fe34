"""The users app's signals: sent on commit, with ids only."""

from __future__ import annotations

import pytest

from users import engine, services, signals
from users.models import PipelineRun, WorkItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def received():
    got: list[tuple[str, dict]] = []

    def on_signed_in(sender, **kwargs):
        got.append(("account_signed_in", kwargs))

    def on_ready(sender, **kwargs):
        got.append(("profile_ready", kwargs))

    signals.account_signed_in.connect(on_signed_in)
    signals.profile_ready.connect(on_ready)
    yield got
    signals.account_signed_in.disconnect(on_signed_in)
    signals.profile_ready.disconnect(on_ready)


def test_account_signed_in_after_commit_new_then_existing(
    received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = services.user_login(login="ada")
    assert not [name for name, _ in received]  # nothing before the commit
    for callback in callbacks:
        callback()
    with django_capture_on_commit_callbacks(execute=True):
        services.user_login(login="ada")
    sign_ins = [kw for name, kw in received if name == "account_signed_in"]
    assert [(kw["user_id"], kw["is_new"]) for kw in sign_ins] == [
        (first.user_id, True),
        (first.user_id, False),
    ]


def test_profile_ready_when_the_run_succeeds(received, django_capture_on_commit_callbacks):
    run = services.run_create_for_command(login="bea")
    WorkItem.objects.filter(run=run).update(status=WorkItem.Status.SUCCEEDED)
    with django_capture_on_commit_callbacks(execute=True):
        engine.pipeline_advance(run_id=run.id, dispatch=False)
    assert PipelineRun.objects.get(id=run.id).status == PipelineRun.Status.SUCCEEDED
    assert [kw for name, kw in received if name == "profile_ready"] == [
        {"signal": signals.profile_ready, "user_id": run.user_id, "run_id": run.id}
    ]


def test_no_profile_ready_when_a_required_step_failed(received, django_capture_on_commit_callbacks):
    run = services.run_create_for_command(login="cy")
    WorkItem.objects.filter(run=run).update(status=WorkItem.Status.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        engine.pipeline_advance(run_id=run.id, dispatch=False)
    assert PipelineRun.objects.get(id=run.id).status == PipelineRun.Status.FAILED
    assert not [name for name, _ in received if name == "profile_ready"]
