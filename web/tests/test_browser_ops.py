"""The operations page in headless Chromium, against a real worker and real diagnostics."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from stargazers.selectors.crawls import stargazers_paused
from tests.factories import CrawlFactory
from web.tests import browser as harness
from workers.diagnostics import diagnostics_record

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def _staff_context(chromium, live_server):
    staff = get_user_model().objects.create_user("operator", password="pw", is_staff=True)
    client = Client()
    client.force_login(staff)
    context = chromium.new_context(viewport=harness.DESKTOP)
    context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "domain": urlparse(live_server.url).hostname,
                "path": "/",
            }
        ]
    )
    return context


def test_ops_page_pause_and_resume_in_the_browser(live_server, chromium, celery_worker):
    CrawlFactory(status="completed")
    CrawlFactory(status="pending")
    for _ in range(3):
        diagnostics_record()
    context = _staff_context(chromium, live_server)
    page = context.new_page()
    watch = harness.Watch()
    watch.attach(page)

    page.goto(f"{live_server.url}/ops")
    assert page.inner_text("h1") == "Operations"
    assert page.locator("#workers tbody tr").count() >= 1
    assert "No worker answered" not in page.inner_text("#workers")
    assert page.locator("#history svg.plot").count() == 4
    assert not harness.axe_check(page)
    harness.screens(page, "ops")
    page.set_viewport_size(harness.PHONE)
    assert harness.horizontal_overflow(page) == 0
    page.set_viewport_size(harness.DESKTOP)

    page.fill("#pause-reason", "browser test")
    page.click("#pause button[type=submit]")
    page.wait_for_selector("#pause .paused")
    assert stargazers_paused()
    page.click("#pause button[type=submit]")
    page.wait_for_selector("#pause .running-ok")
    assert not stargazers_paused()
    watch.assert_clean()
    context.close()


def test_ops_page_sends_anonymous_visitors_to_the_staff_login(live_server, watched):
    page, watch = watched
    page.goto(f"{live_server.url}/ops")
    assert "/admin/login/" in page.url
    watch.assert_clean()
