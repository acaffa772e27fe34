"""The activity step when GitHub's git answers fail for a while: the step waits on its
row (a repository is never taken for missing because of a passing error), keeps the
repos it could scan, and once git answers again scans the rest and stores the true
document."""

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
    # No document yet; the repos of other owners she committed to were scanned and kept.
    assert not UserActivity.objects.filter(user__login__iexact=login).exists()
    kept = set(
        ActivityRepo.objects.filter(user__login__iexact=login).values_list("full_name", flat=True)
    )
    assert kept and not any(name.startswith(f"{login}/") for name in kept)

    inproc_graphql.configure(faults={"error_rate": 0.0})
    WorkItem.objects.filter(id=item.id).update(not_before=None)
    packs_before = dict(inproc_graphql.stats()["git_upload_packs"])
    assert engine.work_item_run(item_id=item.id, advance=False) == "succeeded"
    packs = inproc_graphql.stats()["git_upload_packs"]
    sent = {name: packs[name] - packs_before.get(name, 0) for name in packs}
    # The retry clones only her repositories: a kept one is asked for its heads, no more.
    assert all(sent.get(name, 0) <= 1 for name in kept), sent
    assert any(n > 1 for name, n in sent.items() if name.startswith(f"{login}/")), sent
    doc = json.loads(UserActivity.objects.get(user__login__iexact=login).document)
    assert doc == expected_document(inproc_graphql, login, None)
    statuses = set(
        ActivityRepo.objects.filter(user__login__iexact=login).values_list("status", flat=True)
    )
    assert ActivityRepo.Status.OK in statuses
    assert not statuses & {ActivityRepo.Status.NOT_FOUND, ActivityRepo.Status.NO_LANGUAGES}
