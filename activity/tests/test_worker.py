"""The user_activity step through a real Celery worker against the simulator."""

from __future__ import annotations

import json
import uuid

import pytest
from rest_framework.test import APIClient

from activity.tests.conftest import expected_document, linked
from workers.testing import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def test_login_runs_user_activity_on_a_worker_and_serves_the_true_document(sim, worker_factory):
    worker_factory(env={"GITHUB_TOKENS": f"act-pool-{uuid.uuid4().hex[:8]}"}, concurrency=2)
    api = APIClient()
    login = "jade-osei"
    assert api.post(f"/users/{login}/login", {}, format="json").status_code == 200

    def finished():
        body = api.get(f"/users/{login}/progress").json()
        return body if body["state"] in ("ready", "failed") else None

    progress = wait_until(finished, timeout=180, interval=0.5, message="run not finished")
    assert progress["state"] == "ready", progress
    step = next(i for i in progress["items"] if i["step"] == "user_activity")
    assert step["status"] == "succeeded" and step["output"]["repos_scanned"] >= 1, step
    body = json.loads(api.get(f"/users/{login}/activity").content)
    # Every repo the user committed to in the window, the linked ones among them.
    assert body["ok"] is True and body["coverage"]["repos"] > len(linked(login))
    assert body["activity"] == expected_document(sim, login, None)
