"""The For You page in headless Chromium: items, author links, rebuild (POST + CSRF)."""

from __future__ import annotations

import pytest

from repos.models import GalleryImage
from users import selectors as user_selectors
from web import adapters
from web.tests import browser as harness
from web.tests.factories import profile_make

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

SHOT = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='320' height='200'%3E"
    "%3Crect width='320' height='200' fill='%2340c463'/%3E%3C/svg%3E"
)


def _feed_stand_in(monkeypatch, author) -> list[str]:
    """Until the feed app ships its services, serve the author's highlighted repos (as
    `/users/<author>/data` shows them) through the same adapter; returns rebuild calls."""
    rebuilt: list[str] = []
    if adapters.feed_available():
        return rebuilt

    def serve(*, viewer, limit=30):
        data = user_selectors.user_data(user=author)
        return [
            {
                **repo,
                "username": author.login,
                "is_ghost": author.is_ghost,
                "score": 1.0 / rank,
                "reasons": ["shares your languages"],
            }
            for rank, repo in enumerate(data["highlighted_repos"], start=1)
        ][:limit]

    def rebuild(*, viewer):
        rebuilt.append(viewer.login)
        return {"queued": True}

    real = adapters._contract
    contracts = {"feed_serve": serve, "feed_rebuild_request": rebuild}
    monkeypatch.setattr(
        adapters,
        "_contract",
        lambda module, name: (
            contracts.get(name) if module == "feed.services" else real(module, name)
        ),
    )
    return rebuilt


def test_for_you_page_lists_items_and_rebuilds(live_server, watched, monkeypatch):
    page, watch = watched
    viewer, _, _ = profile_make(login="viewer-one")
    author, repos, _ = profile_make(login="author-two")
    author.state = "ghost"
    author.save(update_fields=["state"])
    GalleryImage.objects.filter(repo__in=repos).update(url=SHOT)
    stand_in = not adapters.feed_available()
    rebuilt = _feed_stand_in(monkeypatch, author)

    page.goto(f"{live_server.url}/u/{viewer.login}/for-you")
    page.wait_for_load_state("networkidle")
    items = page.locator("ol.feed > li.item")
    assert items.count() >= 1
    first = items.first
    assert first.locator("a[href='/u/author-two']").count() == 1
    assert "ghost" in first.inner_text() and "score" in first.inner_text()
    assert first.locator(".reasons li").count() >= 1
    assert first.locator("img.shot").get_attribute("loading") == "lazy"
    assert not harness.axe_check(page)
    harness.screens(page, "for-you")
    page.set_viewport_size(harness.PHONE)
    assert harness.horizontal_overflow(page) == 0
    page.set_viewport_size(harness.DESKTOP)

    page.click("text=Rebuild my feed")
    page.wait_for_selector(".flash li")
    assert page.url.endswith(f"/u/{viewer.login}/for-you")
    if stand_in:
        assert rebuilt == [viewer.login]
    watch.assert_clean()
