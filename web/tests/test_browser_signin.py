"""Sign in with GitHub in headless Chromium, against the simulator's OAuth pages: the
whole journey, another person's feed, looking a developer up, and the ways a sign-in
ends without one (denied consent, a forged state)."""

from __future__ import annotations

import pytest

from tests.factories import profile_make
from tests.signin import sign_in_browser
from users.models import GitHubUser, PipelineRun
from users.tokens import token_decrypt
from web.tests import browser as harness

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def accessible(page) -> None:
    violations = harness.axe_check(page)
    assert not violations, violations


def to_consent(page, live_server) -> None:
    """From the landing page to the simulator's consent page."""
    page.goto(live_server.url + "/")
    page.click("nav >> text=Sign in with GitHub")
    page.wait_for_url("**/signin")
    page.click("main button:has-text('Sign in with GitHub')")
    page.wait_for_url("**/login/oauth/authorize?**")


def test_sign_in_builds_my_profile_then_my_feed_then_sign_out(
    live_server, watched, oauth, pipe_worker
):
    page, watch = watched
    profile_make(login="someone-else")  # a candidate for the feed
    oauth.configure(faults={"slow_ms": 120})  # the profile surely builds while watched
    to_consent(page, live_server)
    assert "Authorize" in page.inner_text("h1")
    page.check("input[name=login][value='avery-lin']")
    page.click("button:has-text('Authorize')")

    page.wait_for_url(f"{live_server.url}/u/avery-lin")
    panel = page.locator("#progress")
    assert panel.get_attribute("data-state") in ("queued", "running")
    assert "@avery-lin" in page.inner_text("nav")
    accessible(page)
    harness.screens(page, "signin-profile-building")
    oauth.configure(faults={"slow_ms": 0})
    user = GitHubUser.objects.get(login="avery-lin")
    token = token_decrypt(user.token_encrypted)
    assert token and token.startswith("sim_avery-lin_gho_")
    assert token not in page.content()

    page.wait_for_selector("#highlights article.repo", timeout=150_000)
    page.wait_for_selector("#progress", state="detached", timeout=10_000)
    assert PipelineRun.objects.filter(user=user, status="succeeded").exists()

    page.click("nav >> text=My feed")
    page.wait_for_url(f"{live_server.url}/u/avery-lin/for-you")
    page.wait_for_selector("ol.feed")
    assert page.locator("ol.feed > li.item").count() >= 1
    accessible(page)

    page.click("nav >> text=Settings")
    page.wait_for_url("**/settings")
    accessible(page)
    harness.screens(page, "signin-settings")

    page.click("nav button:has-text('Sign out')")
    page.wait_for_url(live_server.url + "/")
    assert "Sign in with GitHub" in page.inner_text("nav")
    watch.expect(f"{live_server.url}/u/avery-lin/for-you", 302)
    page.goto(f"{live_server.url}/u/avery-lin/for-you")
    assert "/signin?next=" in page.url  # the feed asks to sign in again
    watch.assert_clean()


def test_another_person_cannot_open_or_change_my_feed(live_server, watched):
    page, watch = watched
    mine, _, _ = profile_make(login="feed-owner")
    profile_make(login="other-person")
    sign_in_browser(page, live_server, "other-person")
    url = f"{live_server.url}/u/feed-owner/for-you"
    watch.expect(url, 403)
    page.goto(url)
    assert "Not your feed" in page.inner_text("h1")
    assert page.locator("button:has-text('Rebuild my feed')").count() == 0
    accessible(page)
    harness.screens(page, "signin-not-your-feed")
    # A forged POST from this session changes nothing either (CSRF and ownership).
    token = page.evaluate("document.cookie.match(/csrftoken=([^;]+)/)?.[1] || ''")
    status = page.evaluate(
        """async ([url, token]) => (await fetch(url, {method: 'POST',
            headers: {'X-CSRFToken': token}, redirect: 'manual'})).status""",
        [url + "/rebuild", token],
    )
    assert status in (403, 0)
    from feed.models import FeedExposure, FeedRebuild

    assert not FeedExposure.objects.filter(viewer=mine).exists()
    assert not FeedRebuild.objects.filter(viewer=mine, trigger="request").exists()


def test_looking_up_an_unknown_developer_builds_a_ghost(live_server, watched, sim, pipe_worker):
    page, watch = watched
    page.goto(live_server.url + "/")
    accessible(page)
    harness.screens(page, "signin-landing")
    page.set_viewport_size(harness.PHONE)
    assert harness.horizontal_overflow(page) == 0
    page.set_viewport_size(harness.DESKTOP)
    page.fill("#lookup-login", "chen-wei")
    page.click("button:has-text('Look up')")
    page.wait_for_url(f"{live_server.url}/u/chen-wei")
    assert GitHubUser.objects.get(login="chen-wei").state == "ghost"
    page.wait_for_selector("#highlights article.repo", timeout=150_000)
    assert "chen-wei" in page.inner_text("main")
    watch.assert_clean()


def test_denied_consent_and_a_forged_state_end_on_clear_pages(live_server, watched, oauth):
    page, watch = watched
    to_consent(page, live_server)
    page.click("button:has-text('Cancel')")
    page.wait_for_url("**/accounts/3rdparty/login/cancelled/")
    assert "Sign-in cancelled" in page.inner_text("h1")
    accessible(page)
    harness.screens(page, "signin-cancelled")

    forged = f"{live_server.url}/accounts/github/login/callback/?code=abc&state=forged"
    watch.expect(forged, 401)
    page.goto(forged)
    assert "Sign-in did not complete" in page.inner_text("h1")
    accessible(page)
    harness.screens(page, "signin-failed")
    assert not GitHubUser.objects.filter(login="avery-lin").exists()
    assert "Sign in with GitHub" in page.inner_text("nav")

    page.goto(f"{live_server.url}/signin")
    accessible(page)
    harness.screens(page, "signin-page")
    page.set_viewport_size(harness.PHONE)
    assert harness.horizontal_overflow(page) == 0
    watch.assert_clean()
