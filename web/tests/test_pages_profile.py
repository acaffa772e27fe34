"""The profile page and its fragments through Django's test client."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils import timezone

from tests.factories import UserFactory, activity_store, profile_make
from users.models import PipelineRun, WorkItem

pytestmark = pytest.mark.django_db


def test_profile_ready_shows_everything_the_data_endpoint_holds(client):
    user, repos, kindred = profile_make()
    response = client.get(f"/u/{user.login}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Octo Developer" in html and "Builds small fast things." in html
    assert "Tools for people who ship" in html
    for repo in repos:
        assert repo.full_name in html and repo.blurb in html
    assert html.count('loading="lazy"') >= 2 and 'alt="Screenshot 1"' in html
    assert "web service" in html and "api design" in html and "Django" in html
    assert 'href="https://project-1.example.org"' in html
    # Star history: cumulative 3+4+…+8 = 33 stars, drawn as an SVG with a label.
    assert 'aria-label="Star history of octo-dev/project-1: 33 stars' in html
    assert 'id="progress"' not in html  # finished: no progress panel
    # Kindred developers (the slowest read) come from their own page, pulled in by the
    # script; each links to their page.
    assert f'data-fragment="/u/{user.login}/kindred"' in html
    kindred_page = client.get(f"/u/{user.login}/kindred").content.decode()
    assert f'href="/u/{kindred.login}"' in kindred_page
    assert "2 starred repos in common" in kindred_page


def test_profile_unknown_user_is_an_html_404(client):
    response = client.get("/u/nobody-here")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "Gazer has no profile for" in response.content.decode()


def test_profile_invalid_login_is_an_html_404(client):
    response = client.get("/u/-bad--name-")
    assert response.status_code == 404
    assert "Not found" in response.content.decode()


def test_profile_user_github_does_not_know_says_so(client):
    user = UserFactory(login="ghost-of-nothing")
    run = PipelineRun.objects.create(user=user, status="failed", trigger="login")
    WorkItem.objects.create(
        user=user,
        run=run,
        step="fetch_profile",
        status="failed",
        error="no such GitHub user",
        output={"profile_found": False},
    )
    response = client.get("/u/ghost-of-nothing")
    assert response.status_code == 404
    assert "GitHub does not know ghost-of-nothing" in response.content.decode()


def test_profile_discovered_stargazer_has_a_page_not_a_404(client):
    _, _, kindred = profile_make()
    response = client.get(f"/u/{kindred.login}")
    assert response.status_code == 200
    assert "from the star graph only" in response.content.decode()
    kindred_page = client.get(f"/u/{kindred.login}/kindred").content.decode()
    assert 'href="/u/octo-dev"' in kindred_page
    assert client.get("/u/nobody-here/kindred").status_code == 404


def test_profile_while_running_shows_progress_and_polls(client):
    user, _, _ = profile_make(run_status="running")
    html = client.get(f"/u/{user.login}").content.decode()
    assert 'id="progress"' in html and f'data-poll="/u/{user.login}/progress"' in html
    assert "This page updates by itself." in html
    assert '<meta http-equiv="refresh" content="5">' in html  # without JavaScript too
    fragment = client.get(f"/u/{user.login}/progress")
    assert fragment.status_code == 200 and fragment["Cache-Control"] == "no-store"
    body = fragment.content.decode()
    assert 'data-state="running"' in body and "Repositories" in body and "running" in body


def test_progress_fragment_says_ready_when_the_run_finished(client):
    user, _, _ = profile_make()
    body = client.get(f"/u/{user.login}/progress").content.decode()
    assert 'data-state="ready"' in body and "data-poll" not in body


def test_profile_waiting_names_the_rate_limit(client):
    user, _, _ = profile_make(run_status="running")
    PipelineRun.objects.filter(user=user).update(status="waiting", not_before=timezone.now())
    html = client.get(f"/u/{user.login}").content.decode()
    assert "Waiting for GitHub's rate limit" in html


def test_profile_waiting_through_github_errors_says_when_it_retries(client):
    user, _, _ = profile_make(run_status="running")
    message = "GitHub errors; retrying at 2030-01-01T00:00:00+00:00 (Transient: HTTP 502)"
    PipelineRun.objects.filter(user=user).update(
        status="waiting", not_before=timezone.now(), error=message
    )
    html = client.get(f"/u/{user.login}").content.decode()
    assert "GitHub errors; retrying at 2030-01-01T00:00:00+00:00" in html
    assert "Waiting for GitHub's rate limit" not in html


def test_profile_activity_before_the_step_ran_says_not_computed(client):
    user, _, _ = profile_make()
    html = client.get(f"/u/{user.login}").content.decode()
    assert "Activity not computed yet" in html and 'data-status="pending"' in html
    fragment = client.get(f"/u/{user.login}/heatmap").content.decode()
    assert "Activity not computed yet" in fragment and "<svg" not in fragment


def test_profile_heatmap_default_view_and_get_form_filter(client):
    user, _, _ = profile_make()
    activity_store(user, today=timezone.now().date())
    html = client.get(f"/u/{user.login}").content.decode()
    assert 'class="hm hm-repos"' in html and "2 active days" in html
    assert "<option selected>" not in html
    # The same form, without JavaScript: a GET with the filter renders the filtered map.
    html = client.get(f"/u/{user.login}?language=Rust").content.decode()
    assert 'class="hm hm-filter"' in html and "1 day with Rust commits" in html
    assert "<option selected>Rust</option>" in html
    fragment = client.get(f"/u/{user.login}/heatmap?mode=languages").content.decode()
    assert fragment.startswith('<div id="hm-figure"') and 'class="hm hm-languages"' in fragment


def test_profile_star_history_missing_is_requested_once(client, monkeypatch):
    from stargazers.models import StarHistoryDay
    from web import views

    user, repos, _ = profile_make(highlights=1)
    StarHistoryDay.objects.all().delete()
    asked = []
    monkeypatch.setattr(
        views.star_services, "star_history_request", lambda repo_id: asked.append(repo_id)
    )
    # Only this repo's request marker (the test database's ids repeat across runs).
    cache.delete(f"web:star-history-requested:{repos[0].pk}")
    for _ in range(3):
        html = client.get(f"/u/{user.login}").content.decode()
    assert "Star history is being fetched" in html
    assert asked == [repos[0].pk]


def test_profile_page_weight_under_100_kb(client):
    user, _, _ = profile_make(highlights=5)
    activity_store(user, today=timezone.now().date())
    response = client.get(f"/u/{user.login}")
    assert len(response.content) < 100_000


def test_demo_banner_prints_the_page_urls_beside_the_api_ones():
    from workers import demo

    text = demo.banner(["avery-lin"], states={"avery-lin": "ready"})
    for url in ("/u/avery-lin", "/u/avery-lin/for-you", "/users/avery-lin/data", "/ops"):
        assert f"{demo.WEB}{url}" in text


def test_profile_failed_for_another_reason_shows_the_error(client):
    user = UserFactory(login="broken-run")
    run = PipelineRun.objects.create(user=user, status="failed", trigger="login")
    WorkItem.objects.create(
        user=user, run=run, step="fetch_profile", status="failed", error="GitHub answered 502"
    )
    response = client.get("/u/broken-run")
    assert response.status_code == 200
    html = response.content.decode()
    assert "The last run failed" in html and "GitHub answered 502" in html


def test_home_lists_profiles_and_links_their_pages(client):
    user, _, kindred = profile_make()
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/u/{user.login}"' in html and 'href="/ops"' in html
    assert f'href="/u/{kindred.login}"' not in html  # discovered: no profile of its own
