"""GET /users/<u>/activity: the envelope, the null case, errors, the schema."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from activity.models import UserActivity
from activity.services import document_build
from users.models import GitHubUser

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def test_activity_is_null_before_the_step_ran(api):
    GitHubUser.objects.create(login="octocat", state=GitHubUser.State.ACTIVE)
    response = api.get("/users/octocat/activity")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "activity": None, "coverage": None}


def test_activity_serves_the_document_exactly_with_coverage_beside_it(api):
    from datetime import date

    user = GitHubUser.objects.create(login="octocat", state=GitHubUser.State.ACTIVE)
    doc = document_build(
        repo_days={"octocat/a": {"2026-01-02": ["Python"], "2026-01-01": []}},
        window_start=date(2024, 12, 1),
        window_end=date(2026, 12, 1),
    )
    UserActivity.objects.create(
        user=user,
        document=json.dumps(doc, separators=(",", ":")),
        coverage={"repos": 1},
        window_start=date(2024, 12, 1),
        window_end=date(2026, 12, 1),
    )
    response = api.get("/users/OctoCat/activity")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert list(body) == ["ok", "activity", "coverage"]
    assert list(body["activity"]) == [
        "version",
        "window_years",
        "days",
        "repo_days",
        "language_days",
    ]
    assert body["activity"] == {
        "version": 1,
        "window_years": 2,
        "days": {
            "2026-01-01": {"repos": ["octocat/a"], "languages": []},
            "2026-01-02": {"repos": ["octocat/a"], "languages": ["Python"]},
        },
        "repo_days": {"octocat/a": ["2026-01-01", "2026-01-02"]},
        "language_days": {"Python": ["2026-01-02"]},
    }
    assert body["coverage"] == {"repos": 1}


def test_activity_unknown_user_404_and_invalid_username_400(api):
    missing = api.get("/users/nobody-here/activity")
    assert missing.status_code == 404
    assert missing.json()["ok"] is False and missing.json()["error"]["code"]
    invalid = api.get("/users/-bad-/activity")
    assert invalid.status_code == 400
    assert invalid.json()["error"]["code"] == "invalid_username"


def test_activity_endpoint_is_in_the_openapi_schema(api):
    schema = api.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/users/{login}/activity"]["get"]
    assert {"200", "400", "404"} <= set(operation["responses"])
