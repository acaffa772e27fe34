"""The operations page: staff only, the admin API's figures, pause and resume."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from stargazers.selectors.crawls import stargazers_paused
from tests.factories import CrawlFactory
from workers.models import DiagnosticsSnapshot, QueuePause

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_user("ops", password="pw", is_staff=True)
    client.force_login(user)
    return user


def _snapshots(n: int = 4) -> None:
    start = timezone.now() - timedelta(hours=n)
    for i in range(n):
        snap = DiagnosticsSnapshot.objects.create(
            accounts_per_hour=float(i),
            queue_depths={"high": i, "low": 2 * i},
            repos_by_status={"completed": 10 * i, "pending": 5},
            stargazers_found=1000 * i,
            github_budget={
                "tokens": 2,
                "sent_last_hour": 10 * i,
                "core": {"limit": 10000, "remaining": 10000 - 100 * i, "used": 100 * i, "known": 2},
            },
        )
        DiagnosticsSnapshot.objects.filter(pk=snap.pk).update(taken_at=start + timedelta(hours=i))


def test_ops_needs_a_staff_login(client):
    response = client.get("/ops")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.post("/ops/pause").status_code == 302
    assert not stargazers_paused()


def test_ops_shows_status_queues_workers_and_plots(client, staff):
    CrawlFactory(status="completed")
    CrawlFactory(status="pending")
    CrawlFactory(status="pending")
    _snapshots()
    response = client.get("/ops")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'status__exact=pending">pending</a></td><td class="num">2</td>' in html
    assert '<th scope="row">total</th><td class="num">3</td>' in html
    for plot in ("throughput", "budget", "repos", "queues"):
        assert f'id="plot-{plot}"' in html
    assert "core budget used (%)" in html and "stargazers stored per hour" in html
    assert 'aria-label="Throughput from' in html
    assert 'href="/admin/"' in html and 'href="/api/docs/"' in html
    assert 'href="http://127.0.0.1:5555/"' in html
    assert "Running." in html and 'action="/ops/pause"' in html


def test_ops_without_history_says_so(client, staff):
    html = client.get("/ops").content.decode()
    assert "No diagnostics stored yet" in html


def test_ops_pause_and_resume_call_the_services(client, staff):
    response = client.post("/ops/pause", {"reason": "maintenance"})
    assert response.status_code == 302 and response["Location"] == "/ops"
    assert QueuePause.objects.get(queue="stargazers").reason == "maintenance"
    html = client.get("/ops").content.decode()
    assert "Paused." in html and 'action="/ops/resume"' in html
    assert "Star-graph processing paused." in html
    client.post("/ops/resume")
    assert not stargazers_paused()


def test_ops_pause_needs_the_csrf_token(staff):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff)
    assert strict.post("/ops/pause").status_code == 403
    assert not stargazers_paused()
