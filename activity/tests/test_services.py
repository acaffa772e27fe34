"""The activity step in this process against the simulator: the document day by day,
incremental refresh, repos that cannot be read."""

from __future__ import annotations

import json

import pytest

from activity.models import UserActivity
from activity.tests.conftest import expected_document, linked, run
from users.models import WorkItem

pytestmark = pytest.mark.django_db


def _doc(login: str) -> UserActivity:
    return UserActivity.objects.get(user__login__iexact=login)


def test_document_matches_simulator_truth_day_by_day(inproc):
    login = "dana-kowalski"
    run(login)
    item = WorkItem.objects.get(user__login__iexact=login, step="user_activity")
    assert item.status == "succeeded", item.error
    row = _doc(login)
    doc = json.loads(row.document)
    assert list(doc) == ["version", "window_years", "days", "repo_days", "language_days"]
    assert doc["version"] == 1 and doc["window_years"] == 2
    expected = expected_document(inproc, login, linked(login))
    for day in sorted(set(doc["days"]) | set(expected["days"])):
        assert doc["days"].get(day) == expected["days"].get(day), day
    assert doc == expected
    assert doc["days"] and doc["language_days"]
    assert min(doc["days"]) >= row.window_start.isoformat()  # clipped to the window
    # other owners' repos count too
    assert any(not r.startswith(login + "/") for r in doc["repo_days"])
    assert row.coverage["repos_scanned"] >= 1 and row.coverage["repos_without_languages"] == []
