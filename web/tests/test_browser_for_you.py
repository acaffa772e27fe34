"""The For You page in headless Chromium: items, author links, rebuild (POST + CSRF)."""

from __future__ import annotations

import pytest
from django.template.defaultfilters import floatformat

from feed.models import FeedEntry, FeedRebuild
from repos.models import GalleryImage
from tests.factories import profile_make
from tests.signin import sign_in_browser
from web.tests import browser as harness

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

SHOT = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='320' height='200'%3E"
    "%3Crect width='320' height='200' fill='%2340c463'/%3E%3C/svg%3E"
)


def test_for_you_page_lists_items_and_rebuilds(live_server, watched):
    page, watch = watched
    viewer, _, _ = profile_make(login="viewer-one")
    author, repos, _ = profile_make(login="author-two")
    author.state = "ghost"
    author.save(update_fields=["state"])
    GalleryImage.objects.filter(repo__in=repos).update(url=SHOT)

    sign_in_browser(page, live_server, viewer.login)
    page.goto(f"{live_server.url}/u/{viewer.login}/for-you")
    page.wait_for_load_state("networkidle")
    items = page.locator("ol.feed > li.item")
    assert items.count() == len(repos)  # the author's highlights; never the viewer's own
    best = FeedEntry.objects.filter(viewer=viewer).order_by("-score", "repo_id").first()
    first = items.first
    assert first.get_attribute("data-repo") == best.repo.full_name
    assert first.locator("a[href='/u/author-two']").count() == 1
    assert "ghost" in first.inner_text()
    assert first.locator(".score").inner_text() == f"score {floatformat(best.score, 2)}"
    assert first.locator(".reasons li").count() >= 1
    assert first.locator("img.shot").get_attribute("loading") == "lazy"
    assert not harness.axe_check(page)
    harness.screens(page, "for-you")
    page.set_viewport_size(harness.PHONE)
    assert harness.horizontal_overflow(page) == 0
    page.set_viewport_size(harness.DESKTOP)

    # The first view queued a rebuild of its own; the button must queue the next one.
    FeedRebuild.objects.filter(viewer=viewer).update(queued_at=None, trigger="")
    page.click("text=Rebuild my feed")
    page.wait_for_selector(".flash li")
    assert page.url.endswith(f"/u/{viewer.login}/for-you")
    assert "Rebuild queued" in page.inner_text(".flash")
    rebuild = FeedRebuild.objects.get(viewer=viewer)
    assert rebuild.queued_at is not None and rebuild.trigger == "request"
    watch.assert_clean()
