"""Rebuilds that start by themselves: a finished profile (the users app's signal)."""

from __future__ import annotations

import pytest

from feed.models import FeedRebuild
from tests.factories import UserFactory
from users import engine, pipeline
from users.models import PipelineRun, WorkItem

pytestmark = pytest.mark.django_db


def test_a_finished_profile_queues_that_viewers_rebuild_once(django_capture_on_commit_callbacks):
    viewer = UserFactory(login="viewer")
    run = PipelineRun.objects.create(
        user=viewer, status="running", trigger="start", selected_steps=[pipeline.FETCH_PROFILE]
    )
    WorkItem.objects.create(user=viewer, step=pipeline.FETCH_PROFILE, status="succeeded", run=run)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        engine.pipeline_advance(run_id=run.id)
        engine.pipeline_advance(run_id=run.id)  # already finished: nothing more
    assert PipelineRun.objects.get(id=run.id).status == "succeeded"
    row = FeedRebuild.objects.get(viewer=viewer)
    assert row.queued_at is not None and row.trigger == "profile_ready"
    # The signal, then the rebuild's enqueue: two callbacks, one queued rebuild.
    assert len(callbacks) == 2


def test_a_failed_profile_queues_nothing(django_capture_on_commit_callbacks):
    viewer = UserFactory(login="viewer")
    run = PipelineRun.objects.create(
        user=viewer, status="running", trigger="start", selected_steps=[pipeline.FETCH_PROFILE]
    )
    WorkItem.objects.create(user=viewer, step=pipeline.FETCH_PROFILE, status="failed", run=run)
    with django_capture_on_commit_callbacks(execute=True):
        engine.pipeline_advance(run_id=run.id)
    assert not FeedRebuild.objects.filter(viewer=viewer).exists()
