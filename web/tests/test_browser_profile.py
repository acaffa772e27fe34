"""The pages in headless Chromium, for a simulated user processed end to end.

A real Celery worker runs the pipeline against the GitHub simulator while the browser
has the profile open: the progress panel updates by itself and the finished profile
replaces it without a reload. Each page is checked with axe-core, for console errors
and failed requests, at desktop width and at 375 px, with screenshots.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from stargazers.models import StarHistoryDay
from stargazers.services import kindred_get_or_compute
from tests.factories import activity_store, profile_make
from tests.signin import sign_in_browser
from users.models import GitHubUser, PipelineRun
from web.tests import browser as harness
from workers.testing import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

LOGIN = "avery-lin"


def _lit(page) -> list[str]:
    return page.eval_on_selector_all(
        "#hm-figure svg rect title", "titles => titles.map(t => t.textContent)"
    )


def test_profile_opened_while_the_pipeline_runs_becomes_the_profile(
    live_server, watched, sim, pipe_worker
):
    page, watch = watched
    # Slow GitHub down so the page is surely open before the run ends.
    sim.configure(faults={"slow_ms": 120})
    api = APIClient()
    response = api.post(
        f"/users/{LOGIN}/login",
        {"github_token": f"sim_{LOGIN}_{uuid.uuid4().hex[:8]}"},
        format="json",
    )
    assert response.status_code == 200, response.content

    page.goto(f"{live_server.url}/u/{LOGIN}")
    panel = page.locator("#progress")
    assert panel.get_attribute("data-poll") == f"/u/{LOGIN}/progress"
    assert panel.get_attribute("data-state") in ("queued", "running")
    page.evaluate("window.__sameDocument = true")
    assert not harness.axe_check(page)
    harness.screens(page, "profile-building")
    sim.configure(faults={"slow_ms": 0})

    # Polling shows the steps moving, then the finished profile replaces the panel.
    page.wait_for_selector("#highlights article.repo", timeout=150_000)
    page.wait_for_selector("#progress", state="detached", timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    page.wait_for_load_state("networkidle")

    data = api.get(f"/users/{LOGIN}/data").json()
    names = page.eval_on_selector_all("#highlights h3", "hs => hs.map(h => h.textContent.trim())")
    assert names == [repo["full_name"] for repo in data["highlighted_repos"]]
    text = page.inner_text("main")
    assert data["theme"] in text
    for repo in data["highlighted_repos"]:
        assert repo["blurb"] in text
        for keyword in repo["keywords"]:
            assert keyword in text
    user = GitHubUser.objects.get(login__iexact=LOGIN)
    assert page.get_attribute("img.avatar", "src") == user.avatar_url
    images = page.locator(".gallery img")
    if images.count():
        assert images.first.get_attribute("loading") == "lazy"
        assert all(images.nth(i).get_attribute("alt") for i in range(images.count()))

    # The heatmap: the default view, the languages toggle, a repo filter (DOM, not pixels).
    svg = page.locator("#hm-figure svg.hm")
    assert svg.get_attribute("class") == "hm hm-repos"
    by_repos = _lit(page)
    assert by_repos
    # The activity app's own document, day for day.
    served = api.get(f"/users/{LOGIN}/activity").json()["activity"]
    today = timezone.now().date()
    in_window = {
        day
        for day, entry in served["days"].items()
        if entry["repos"] and 0 <= (today - date.fromisoformat(day)).days < 730
    }
    assert {title.split(":")[0] for title in by_repos} == in_window
    page.check("input[name=mode][value=languages]")
    page.wait_for_selector("#hm-figure svg.hm-languages")
    by_languages = _lit(page)
    assert by_languages != by_repos
    assert all(" language" in t for t in by_languages)
    repo_options = page.eval_on_selector_all(
        "select[name=repo] option", "os => os.map(o => o.value).filter(Boolean)"
    )
    assert repo_options
    chosen = repo_options[0]
    page.select_option("select[name=repo]", chosen)
    page.wait_for_selector("#hm-figure svg.hm-filter")
    filtered = _lit(page)
    assert filtered and all(t.endswith(f": {chosen}") for t in filtered)
    assert f"repo={chosen.replace('/', '%2F')}" in page.url
    page.select_option("select[name=language]", index=1)
    page.wait_for_selector(
        f"#hm-figure[data-language='{page.input_value('select[name=language]')}']"
    )
    assert page.input_value("select[name=repo]") == ""

    # Star history: asked for by the first view, drawn once the worker stored it.
    repo_ids = list(
        user.repo_links.filter(highlight_rank__isnull=False).values_list("repo_id", flat=True)
    )
    wait_until(
        lambda: StarHistoryDay.objects.filter(repo_id__in=repo_ids).exists(),
        timeout=60,
        message="no star history stored",
    )
    # Kindred developers: the star-graph crawls the login started must have met someone.
    wait_until(
        lambda: kindred_get_or_compute(login=LOGIN, limit=1)["kindred"],
        timeout=120,
        message="no kindred developer found",
    )
    page.goto(f"{live_server.url}/u/{LOGIN}")
    page.wait_for_load_state("networkidle")
    assert page.locator("svg.spark").count() >= 1

    # Kindred developers arrive after the page, each linked to their own page.
    page.wait_for_selector("#kindred .kindred-list", timeout=30_000)
    links = page.eval_on_selector_all("#kindred .people a", "as => as.map(a => a.pathname)")
    assert links and all(link.startswith("/u/") for link in links)

    violations = harness.axe_check(page)
    assert not violations, violations
    harness.screens(page, "profile")
    page.set_viewport_size(harness.PHONE)
    assert harness.horizontal_overflow(page) == 0
    page.set_viewport_size(harness.DESKTOP)

    # For You, on real data: a second simulated developer profiled ahead of sign-in
    # (a ghost) whose highlights become avery-lin's candidates.
    author = "bram-okafor"
    assert api.post(f"/ghost-users/{author}?force=true").status_code == 201
    wait_until(
        lambda: PipelineRun.objects.filter(
            user__login=author, status__in=["succeeded", "failed"]
        ).exists(),
        timeout=150,
        message=f"{author}'s run did not finish",
    )
    # The feed is its owner's: avery-lin signs in (a GitHub session) to open it.
    sign_in_browser(page, live_server, LOGIN)
    page.goto(f"{live_server.url}/u/{LOGIN}")
    page.click("nav a:has-text('For you')")
    page.wait_for_selector("ol.feed")
    page.wait_for_load_state("networkidle")
    served = api.get(f"/users/{author}/data").json()["highlighted_repos"]
    items = page.locator("ol.feed > li.item")
    assert items.count() >= 1
    shown = set(page.eval_on_selector_all("ol.feed > li.item", "ls => ls.map(l => l.dataset.repo)"))
    assert shown & {repo["full_name"] for repo in served}
    ghost_item = page.locator(f"ol.feed > li.item:has(a[href='/u/{author}'])").first
    assert "ghost" in ghost_item.inner_text() and "score" in ghost_item.inner_text()
    assert not harness.axe_check(page)
    harness.screens(page, "for-you-real")
    page.click("text=Rebuild my feed")
    page.wait_for_selector(".flash li")
    watch.assert_clean()


def test_profile_heatmap_form_works_without_javascript(live_server, chromium):
    user, _, _ = profile_make()
    activity_store(user, today=timezone.now().date())
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/u/{user.login}")
    assert page.is_visible("#hm-form button[type=submit]")
    page.select_option("select[name=language]", "Rust")
    page.click("#hm-form button[type=submit]")
    page.wait_for_selector("#hm-figure svg.hm-filter")
    assert "language=Rust" in page.url
    context.close()


def test_not_found_and_unknown_on_github_pages(live_server, watched, sim, pipe_worker):
    page, watch = watched
    url = f"{live_server.url}/u/nobody-at-all"
    watch.expect(url, 404)
    response = page.goto(url)
    assert response.status == 404
    assert "Gazer has no profile for nobody-at-all" in page.inner_text("main")
    assert not harness.axe_check(page)
    harness.screens(page, "not-found")

    # A login the simulator (GitHub) does not know, through the real pipeline.
    login = "no-such-dev-here"
    assert APIClient().post(f"/users/{login}/login", {}, format="json").status_code == 200
    wait_until(
        lambda: PipelineRun.objects.filter(user__login=login, status="failed").exists(),
        timeout=60,
        message="the run for an unknown user did not fail",
    )
    url = f"{live_server.url}/u/{login}"
    watch.expect(url, 404)
    response = page.goto(url)
    assert response.status == 404
    assert f"GitHub does not know {login}" in page.inner_text("h1")
    assert not harness.axe_check(page)
    harness.screens(page, "unknown-on-github")
    watch.assert_clean()


def test_home_page_links_profiles(live_server, watched):
    page, watch = watched
    user, _, _ = profile_make()
    page.goto(f"{live_server.url}/")
    page.click(f"a[href='/u/{user.login}']")
    page.wait_for_selector("#who-name")
    page.wait_for_selector("#kindred .kindred-list")  # nothing left in flight
    page.goto(f"{live_server.url}/")
    assert not harness.axe_check(page)
    harness.screens(page, "home")
    watch.assert_clean()
