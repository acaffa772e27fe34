"""Fixtures of the page tests: a headless Chromium, watched pages, a pipeline worker."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.signin import OAUTH_APP
from web.tests import browser as harness


@pytest.fixture(scope="session")
def chromium():
    why = harness.missing()
    if why:
        pytest.skip(why)
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    # are still plain synchronous code, so Django's async guard is lifted for them.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = harness.launch(playwright)
        yield instance
        instance.close()


@pytest.fixture
def watched(chromium):
    """(page, watch): a fresh context at desktop size whose problems the test asserts."""
    context = chromium.new_context(viewport=harness.DESKTOP)
    page = context.new_page()
    watch = harness.Watch()
    watch.attach(page)
    yield page, watch
    context.close()


@pytest.fixture
def sim(simulator):
    simulator.configure(unauth_limit=1_000_000)
    yield simulator
    simulator.reset()


@pytest.fixture
def pipe_worker(sim, worker_factory):
    """A real worker with a token pool of its own (a fresh GitHub budget per test), which
    recomputes an account's star signals (kindred) as crawls store pages instead of at
    most hourly, so a page can show kindred developers within the test."""
    env = {
        "GITHUB_TOKENS": f"web-pool-{uuid.uuid4().hex[:8]}",
        "STAR_SIGNALS_MIN_INTERVAL_SECONDS": "1",
    }
    return worker_factory(env=env, concurrency=4)


@pytest.fixture
def oauth(settings, sim):
    """Sign-in with GitHub configured for the simulator's registered OAuth app."""
    settings.GITHUB_OAUTH_CLIENT_ID = OAUTH_APP["client_id"]
    settings.GITHUB_OAUTH_CLIENT_SECRET = OAUTH_APP["secret"]
    settings.SOCIALACCOUNT_PROVIDERS = {
        "github": {**settings.SOCIALACCOUNT_PROVIDERS["github"], "APPS": [OAUTH_APP]}
    }
    return sim
