"""The activity step when GitHub's git answers fail for a while: the step waits on its
row (a repository is never taken for missing because of a passing error) and, once git
answers again, stores the true document."""

from __future__ import annotations

import json

import pytest

from activity.models import ActivityRepo, UserActivity
from activity.tests.conftest import expected_document, run
from users import engine, services
from users.models import WorkItem

pytestmark = pytest.mark.django_db


def test_a_git_storm_makes_the_step_wait_then_it_stores_the_truth(inproc_graphql, settings):
    settings.GITHUB_RETRY_BACKOFF_SECONDS = 0.001
    login = "avery-lin"
    run(login, select="fetch_profile,fetch_repos")
    # Every git request for her own repositories answers 502 (the API answers).
    inproc_graphql.configure(
        faults={"error_rate": 1.0, "error_status": 502, "path_prefix": f"/{login}/"}
    )

    run_row = services.run_create_for_command(login=login, select=["user_activity"])
    item = WorkItem.objects.get(run=run_row, step="user_activity", repo=None)
    assert engine.work_item_run(item_id=item.id, advance=False) == "waiting"
    item.refresh_from_db()
    assert item.status == "pending" and item.not_before is not None
    assert item.error.startswith("GitHub errors; retrying at") and "502" in item.error
    # 1 + GITHUB_RETRIES attempts of one git command, then the row waits.
    assert inproc_graphql.stats()["faults"]["error"] == 1 + settings.GITHUB_RETRIES
    assert not UserActivity.objects.filter(user__login__iexact=login).exists()
    assert not ActivityRepo.objects.filter(user__login__iexact=login).exists()

    inproc_graphql.configure(faults={"error_rate": 0.0})
    WorkItem.objects.filter(id=item.id).update(not_before=None)
    assert engine.work_item_run(item_id=item.id, advance=False) == "succeeded"
    doc = json.loads(UserActivity.objects.get(user__login__iexact=login).document)
    assert doc == expected_document(inproc_graphql, login, None)
    statuses = set(
        ActivityRepo.objects.filter(user__login__iexact=login).values_list("status", flat=True)
    )
    assert ActivityRepo.Status.OK in statuses
    assert not statuses & {ActivityRepo.Status.NOT_FOUND, ActivityRepo.Status.NO_LANGUAGES}
