"""The step registry: built-in steps and steps an upper app registers are one graph."""

from __future__ import annotations

import pytest

from users import engine, pipeline, selectors, services
from users.models import PipelineRun, WorkItem
from users.pipeline.graph import StepGraph
from users.tests.conftest import BUILTIN


@pytest.fixture
def activity_step(builtin_only):
    """What an upper app does in its AppConfig.ready(): a user step after fetch_repos."""
    step = pipeline.Step(
        name="user_activity",
        scope="user",
        depends_on=(pipeline.FETCH_REPOS,),
        run=lambda ctx: {"days": 0},
    )
    pipeline.step_register(step)
    yield step
    pipeline.step_unregister(step.name)


def test_builtin_steps_in_progress_order(builtin_only):
    assert pipeline.steps_all() == BUILTIN
    assert pipeline.steps_required() == {"fetch_profile", "fetch_repos"}


def test_registered_step_joins_order_restart_and_select(activity_step):
    assert pipeline.steps_all()[-1] == "user_activity"
    assert "user_activity" in pipeline.steps_of_scope("user")
    assert "user_activity" in pipeline.steps_from("fetch_repos")
    assert pipeline.steps_from("user_activity") == ["user_activity"]
    assert not pipeline.step_get("user_activity").required


@pytest.mark.django_db
def test_registered_step_gets_a_row_runs_and_shows_in_progress(activity_step):
    run = services.run_create_for_command(login="ada", select=["user_activity"])
    item = WorkItem.objects.get(user_id=run.user_id, step="user_activity")
    assert item.status == WorkItem.Status.PENDING
    # Its prerequisite is not selected, so it is taken as it is: the step is ready now.
    assert engine.pipeline_advance(run_id=run.id, dispatch=False) == [item.id]
    assert engine.work_item_run(item_id=item.id, advance=False) == "succeeded"
    engine.pipeline_advance(run_id=run.id, dispatch=False)
    assert PipelineRun.objects.get(id=run.id).status == PipelineRun.Status.SUCCEEDED
    user = selectors.user_get(login="ada")
    rows = {row["step"]: row for row in selectors.user_progress(user=user)["items"]}
    assert rows["user_activity"]["output"] == {"days": 0}
    # restart ?from= knows it too.
    services.user_restart(login="ada", from_step="user_activity")


def test_order_is_topological_then_registration_order():
    graph = StepGraph()
    run = lambda ctx: {}  # noqa: E731
    graph.register(pipeline.Step("late", "user", run, ("b",)))
    graph.register(pipeline.Step("a", "user", run))
    graph.register(pipeline.Step("b", "user", run, ("a",)))
    graph.register(pipeline.Step("c", "user", run))
    assert graph.order() == ("a", "b", "late", "c")


def test_graph_refuses_cycles_unknown_deps_and_user_after_repo():
    run = lambda ctx: {}  # noqa: E731
    cyclic = StepGraph()
    cyclic.register(pipeline.Step("a", "user", run, ("b",)))
    cyclic.register(pipeline.Step("b", "user", run, ("a",)))
    with pytest.raises(ValueError, match="cycle"):
        cyclic.order()
    unknown = StepGraph()
    unknown.register(pipeline.Step("a", "user", run, ("ghost",)))
    with pytest.raises(ValueError, match="unknown"):
        unknown.order()
    upward = StepGraph()
    upward.register(pipeline.Step("r", "repo", run))
    upward.register(pipeline.Step("u", "user", run, ("r",)))
    with pytest.raises(ValueError, match="cannot depend"):
        upward.order()
    with pytest.raises(ValueError, match="registered already"):
        upward.register(pipeline.Step("r", "user", run))


def test_every_registered_step_declares_the_label_pages_show():
    from django.apps import apps

    assert apps.ready  # the upper apps' steps (activity's) are registered too
    assert "user_activity" in pipeline.steps_all()
    for name in pipeline.steps_all():
        assert pipeline.step_get(name).label, f"{name}: no label"
        assert pipeline.step_label(name) == pipeline.step_get(name).label
    assert pipeline.step_label(pipeline.FETCH_REPOS) == "Repositories"
    assert pipeline.step_label("user_activity") == "Activity"
    assert pipeline.step_label("retired_step") == "Retired step"  # rows of a removed step
