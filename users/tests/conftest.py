"""Fixtures of the user-pipeline tests: the simulator, a worker with its own token pool,
and helpers that drive the API and wait on the database."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from users import pipeline
from users.models import GitHubUser
from workers.testing import wait_until


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def sim(simulator):
    """The session simulator with a generous unauthenticated limit (raw files, images and
    clones go without a token); its startup config comes back afterwards."""
    simulator.configure(unauth_limit=1_000_000)
    yield simulator
    simulator.reset()


@pytest.fixture
def pipe_worker(sim, worker_factory):
    """A real worker whose server token pool is its own (a fresh budget per test)."""
    return worker_factory(env={"GITHUB_TOKENS": f"pipe-pool-{uuid.uuid4().hex[:8]}"}, concurrency=4)


def own_token(login: str) -> str:
    """A token the simulator attributes to `login`, unique per test (stats by token)."""
    return f"sim_{login}_{uuid.uuid4().hex[:8]}"


def progress(api: APIClient, login: str) -> dict:
    response = api.get(f"/users/{login}/progress")
    assert response.status_code == 200, response.content
    return response.json()


def wait_finished(api: APIClient, login: str, *, timeout: float = 120, sweep: bool = False):
    """Poll progress until the run is ready or failed (calling the beat sweep if asked)."""
    from users import engine

    def done():
        if sweep:
            engine.pipeline_sweep()
        body = progress(api, login)
        return body if body["state"] in ("ready", "failed") else None

    return wait_until(done, timeout=timeout, interval=0.5, message=f"{login}: run not finished")


def user_row(login: str) -> GitHubUser:
    return GitHubUser.objects.get(login__iexact=login)


BUILTIN = (
    "fetch_profile",
    "fetch_repos",
    "select_highlights",
    "repo_blurb",
    "repo_emphasis",
    "repo_keywords",
    "repo_kind",
    "repo_link",
    "repo_media",
    "user_theme",
)


@pytest.fixture
def builtin_only():
    """The built-in graph alone: steps the upper apps registered are put aside meanwhile."""
    upper = [pipeline.step_get(n) for n in pipeline.steps_all() if n not in BUILTIN]
    for step in upper:
        pipeline.step_unregister(step.name)
    yield
    for step in upper:
        pipeline.step_register(step)
