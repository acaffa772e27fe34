"""A profile survives what the star graph survives: GitHub error storms, a killed pool
process, a restarted Redis; a failed run does not poison the next one.

Real Celery workers against the simulator's fault injection. The workers' waits are
shrunk through their environment (milliseconds inside a call, seconds on a row); the
Redis that is restarted is a redis-server this module starts on a free port.
"""

from __future__ import annotations

import contextlib
import os
import signal
import uuid
from datetime import timedelta

import psutil
import pytest
import redis
from rest_framework.test import APIClient

from conftest import worker_env
from ghsim.testing import fault_seed
from stargazers import services as star_services
from stargazers.models import StarEdge, StargazerCrawl
from users import engine, services
from users.models import PipelineRun, WorkItem
from workers.testing import CeleryWorkerProcess, RedisServer, celery_broker_use, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# The workers' waits, shrunk: the gateway's in-call retries wait milliseconds, a step
# that GitHub's errors stop waits a second or a few on its row.
FAST = {
    "GITHUB_RETRY_BACKOFF_SECONDS": "0.02",
    "PIPELINE_TRANSIENT_BACKOFF_SECONDS": "1",
    "PIPELINE_TRANSIENT_BACKOFF_MAX_SECONDS": "4",
}
STAR_TERMINAL = {"completed", "pagination_limited", "restricted", "failed"}


@pytest.fixture
def sim(simulator):
    simulator.reset()
    simulator.configure(unauth_limit=1_000_000)
    yield simulator
    simulator.reset()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def _token(login: str) -> str:
    return f"sim_{login}_{uuid.uuid4().hex[:8]}"


def _login(api: APIClient, login: str) -> None:
    response = api.post(f"/users/{login}/login", {"github_token": _token(login)}, format="json")
    assert response.status_code == 200, response.content


def _progress(api: APIClient, login: str) -> dict:
    response = api.get(f"/users/{login}/progress")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def own_redis(settings, worker_factory):
    """Broker and shared state on a redis-server of this test's own; the workers the test
    starts afterwards (worker_factory reads the settings) use it too."""
    server = RedisServer().start()
    previous = settings.REDIS_URL
    settings.REDIS_URL = settings.CELERY_BROKER_URL = server.url
    celery_broker_use(server.url)
    try:
        yield server
    finally:
        celery_broker_use(previous)
        server.close()


@contextlib.contextmanager
def _llm_worker(**env: str):
    """An LLM worker on the current broker (the session's listens elsewhere)."""
    worker = CeleryWorkerProcess.llm(env=worker_env(**env)).start()
    try:
        yield worker
    finally:
        worker.stop()


def _beat() -> None:
    """What beat sends, run here: the pipeline sweep, the coordinator of every active
    run, and the star graph's dispatchers, with their windows shrunk for a test."""
    engine.pipeline_sweep()
    for run_id in PipelineRun.objects.filter(status__in=PipelineRun.ACTIVE_STATUSES).values_list(
        "id", flat=True
    ):
        engine.pipeline_advance(run_id=run_id)
    star_services.accounts_sync_dispatch(grace_seconds=5)
    star_services.stargazer_claims_reset_stale(ttl_seconds=30)
    star_services.stargazer_crawls_dispatch(lease_seconds=15)


def _edges(full_name: str) -> set[tuple[str, str]]:
    rows = StarEdge.objects.filter(repo__full_name__iexact=full_name)
    return {
        (login.lower(), at.strftime("%Y-%m-%dT%H:%M:%SZ"))
        for login, at in rows.values_list("user__login", "starred_at")
    }


def _truth(sim, full_name: str) -> set[tuple[str, str]]:
    truth = sim.truth(f"repos/{full_name}/stargazers")
    return {(s["login"].lower(), s["starred_at"]) for s in truth["stargazers"]}


def test_profiles_and_star_graph_survive_errors_a_killed_process_and_a_redis_restart(
    api, sim, own_redis, worker_factory, monkeypatch
):
    # The sweep's windows, shrunk here where the sweep runs (a lost dispatch is sent
    # again after 10 s, a step whose process died is pending again after 45 s).
    monkeypatch.setattr(engine, "REDISPATCH_AFTER", timedelta(seconds=10))
    monkeypatch.setattr(engine, "STALE_RUNNING_AFTER", timedelta(seconds=45))
    sim.configure(
        restrict_stargazers=True,
        faults={"error_rate": 0.2, "error_status": 502, "drop_rate": 0.05, "seed": 22},
    )
    pool = f"pool-{uuid.uuid4().hex[:10]}"
    worker = worker_factory(env={"GITHUB_TOKENS": pool, **FAST}, concurrency=4)
    logins = ["dana-kowalski", "bram-okafor", "chen-wei"]
    with _llm_worker(**FAST):
        for login in logins:
            _login(api, login)

        # A pool process killed mid-run (the worker replaces it).
        wait_until(
            lambda: WorkItem.objects.filter(status=WorkItem.Status.RUNNING).exists(),
            timeout=60,
            interval=0.05,
        )
        children = psutil.Process(worker.process.pid).children()
        os.kill(children[0].pid, signal.SIGKILL)

        # Redis restarted mid-run, every message (ETA ones held by the worker included)
        # lost with it.
        wait_until(
            lambda: WorkItem.objects.filter(repo__isnull=False).exists(),
            timeout=120,
            interval=0.2,
        )
        own_redis.restart(down_seconds=3)

        def settled() -> bool:
            _beat()
            states = {login: _progress(api, login)["state"] for login in logins}
            crawls = StargazerCrawl.objects.all()
            return (
                all(state in ("ready", "failed") for state in states.values())
                and crawls.exists()
                and not crawls.exclude(status__in=STAR_TERMINAL).exists()
            )

        wait_until(settled, timeout=420, interval=1.0, message="profiles or crawls unfinished")

    states = {login: _progress(api, login) for login in logins}
    assert {login: body["state"] for login, body in states.items()} == dict.fromkeys(
        logins, "ready"
    ), states
    # Nothing less for the trouble: no step failed (optional ones included), and every
    # blurb was written from its clone.
    items = WorkItem.objects.filter(user__login__in=logins)
    failed = list(items.filter(status=WorkItem.Status.FAILED).values_list("step", "error"))
    assert not failed, failed
    blurbs = items.filter(step="repo_blurb").values_list("output", flat=True)
    assert blurbs and not [o for o in blurbs if (o or {}).get("clone_error")]
    assert worker.process.poll() is None and worker.answers_ping()
    assert "Unrecoverable error" not in worker.log_path.read_text(errors="replace")
    faults = sim.stats()["faults"]
    assert faults.get("error", 0) > 0 and faults.get("drop", 0) > 0

    # Every account's starred list is stored, and every crawl that could list its
    # stargazers holds exactly the simulator's.
    for login in logins:
        truth = sim.truth(f"users/{login}/starred")
        stored = StarEdge.objects.filter(user__login__iexact=login).count()
        assert stored == truth["count"], login
    completed = list(
        StargazerCrawl.objects.filter(status="completed").values_list("repo__full_name", flat=True)
    )
    assert completed
    for full_name in completed[:6]:
        assert _edges(full_name) == _truth(sim, full_name), full_name
    assert not StargazerCrawl.objects.filter(status="failed").exists()


def test_a_login_after_a_failed_run_succeeds(api, sim, worker_factory):
    """The run fails once transient errors outlast the horizon; signing in again starts
    every step afresh (attempts from zero) and the profile becomes ready."""
    login = "farah-haddad"
    # Her own repositories answer 502 (fetch_repos reads their branches and commits);
    # the starred repositories her sign-in crawls are other people's.
    sim.configure(
        restrict_stargazers=True,
        faults={"error_rate": 1.0, "error_status": 502, "path_prefix": f"/api/v3/repos/{login}/"},
    )
    # The REST fetch path reads each of her repositories (GraphQL would batch them).
    env = {"GITHUB_TOKENS": f"pool-{uuid.uuid4().hex[:10]}", "GITHUB_PROFILE_FETCH": "rest", **FAST}
    worker_factory(env={**env, "PIPELINE_TRANSIENT_HORIZON_SECONDS": "2"}, concurrency=2)
    _login(api, login)
    failed = wait_until(
        lambda: (body := _progress(api, login))["state"] == "failed" and body,
        timeout=90,
        interval=0.5,
    )
    step = next(i for i in failed["items"] if i["step"] == "fetch_repos")
    assert step["status"] == "failed", failed["items"]
    assert "HTTP 502" in step["error"] and step["attempts"] >= 2

    sim.configure(faults={"error_rate": 0.0})
    first_run = failed["run"]["id"]
    _login(api, login)
    item = WorkItem.objects.get(user__login=login, step="fetch_repos", repo=None)
    assert item.run_id != first_run and item.attempts in (0, 1)
    ready = wait_until(
        lambda: (body := _progress(api, login))["state"] in ("ready", "failed") and body,
        timeout=120,
        interval=0.5,
    )
    assert ready["state"] == "ready", ready
    step = next(i for i in ready["items"] if i["step"] == "fetch_repos")
    assert step["status"] == "succeeded" and step["attempts"] == 1


def test_a_profile_run_through_a_storm_finishes_after_it_by_itself(
    api, sim, worker_factory, settings
):
    """Half of GitHub's GraphQL answers fail for a while: the run waits ("GitHub errors;
    retrying at T"), then finishes once the storm is over, with no sweep or person acting.
    The storm's first answers fail for certain: the profile's first query and its in-call
    retries (nothing else asks GraphQL before it; the star graph reads REST)."""
    login = "gus-muller"
    seed = fault_seed("x" * (1 + settings.GITHUB_RETRIES))
    sim.configure(
        restrict_stargazers=True,
        faults={
            "error_rate": 0.5,
            "error_status": 502,
            "path_prefix": "/api/graphql",
            "seed": seed,
        },
    )
    worker_factory(env={"GITHUB_TOKENS": f"pool-{uuid.uuid4().hex[:10]}", **FAST}, concurrency=2)
    _login(api, login)
    waiting = wait_until(
        lambda: (body := _progress(api, login))["state"] == "waiting" and body,
        timeout=90,
        interval=0.2,
        message="the storm never made the run wait",
    )
    assert waiting["message"].startswith("GitHub errors; retrying at")
    sim.configure(faults={"error_rate": 0.0})
    final = wait_until(
        lambda: (body := _progress(api, login))["state"] in ("ready", "failed") and body,
        timeout=120,
        interval=0.5,
    )
    assert final["state"] == "ready", final
    steps = {i["step"]: i for i in final["items"] if i["repo"] is None}
    assert {steps[s]["status"] for s in ("fetch_profile", "fetch_repos", "select_highlights")} == {
        "succeeded"
    }


def test_a_worker_holding_eta_messages_survives_a_redis_restart(own_redis, worker_factory):
    """kombu cannot put unacknowledged messages back through a connection Redis closed;
    the guard (workers/broker.py) keeps the worker alive, and it reconnects."""
    from users.tasks import pipeline_advance

    worker = worker_factory(env=FAST, concurrency=1)
    for _ in range(3):  # held by the worker, unacknowledged, until their ETA
        pipeline_advance.apply_async(args=[0], countdown=600)
    wait_until(lambda: worker.log_path.read_text().count("received") >= 3, timeout=30)
    own_redis.restart(down_seconds=2)
    wait_until(worker.answers_ping, timeout=60, interval=0.5, message="worker not back")
    result = pipeline_advance.apply_async(args=[0])
    wait_until(
        lambda: any(
            result.id in line and "succeeded" in line
            for line in worker.log_path.read_text(errors="replace").splitlines()
        ),
        timeout=60,
        interval=0.5,
    )
    assert worker.process.poll() is None
    log = worker.log_path.read_text(errors="replace")
    assert "Unrecoverable error" not in log and "broker.restore_skipped" in log


def test_a_retried_step_sends_only_what_was_not_answered(sim, settings):
    """fetch_repos fails at its first GraphQL request, after every owned repository's
    branches and commits were answered; its retry sends what had not been answered and
    nothing else: with the failed attempts set aside, its two attempts send what one
    fault-free run of the step sends."""
    settings.GITHUB_TOKENS = [f"pool-{uuid.uuid4().hex[:10]}"]
    # The REST fetch path: dozens of requests in one step, the case keeping answers is for.
    settings.GITHUB_PROFILE_FETCH = "rest"
    settings.GITHUB_RETRY_BACKOFF_SECONDS = 0.001
    settings.PIPELINE_TRANSIENT_BACKOFF_SECONDS = 1000  # a row wait, no countdown message
    run = services.run_create_for_command(login="hana-sato")
    items = {i.step: i for i in WorkItem.objects.filter(user_id=run.user_id, repo=None)}
    assert engine.work_item_run(item_id=items["fetch_profile"].id, advance=False) == "succeeded"

    def sent() -> tuple[int, int]:
        stats = sim.stats()
        return stats["requests_total"], stats["faults"].get("error", 0)

    def fetch_repos(expected: str) -> tuple[int, int]:
        start = sent()
        assert engine.work_item_run(item_id=items["fetch_repos"].id, advance=False) == expected
        end = sent()
        return end[0] - start[0], end[1] - start[1]

    sim.configure(faults={"error_rate": 1.0, "error_status": 502, "path_prefix": "/api/graphql"})
    first, failed_attempts = fetch_repos("waiting")
    assert failed_attempts == 4  # the first GraphQL request, asked 1 + 3 times
    sim.configure(faults={"error_rate": 0.0})
    WorkItem.objects.filter(id=items["fetch_repos"].id).update(not_before=None)
    retry, _ = fetch_repos("succeeded")
    # The step is done: what was kept for its retries is dropped.
    scope = f"work_item:{items['fetch_repos'].id}:run:{run.id}"
    assert not redis.Redis.from_url(settings.REDIS_URL).exists(f"gh:memo:{scope}")

    engine.run_cancel(run_id=run.id)
    engine.run_start(
        user_id=run.user_id,
        trigger="command",
        queue="default",
        selected_steps=["fetch_repos"],
        enqueue=False,
    )
    clean, _ = fetch_repos("succeeded")
    assert first - failed_attempts > 0 and retry > 0
    assert first - failed_attempts + retry == clean
