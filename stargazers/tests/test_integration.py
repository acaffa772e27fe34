"""The star graph through real Celery workers and the GitHub simulator.

Every test starts its own workers (worker_factory) with a server token of its own, so
budgets and counts at the simulator belong to that test.
"""

from __future__ import annotations

import os
import signal
import uuid

import pytest
from django.db import transaction
from django.utils import timezone

from stargazers import services
from stargazers.models import AccountStarredSync, StarEdge, StargazerCrawl
from users.models import GitHubUser
from users.tokens import token_encrypt
from workers.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TERMINAL = {"completed", "pagination_limited", "restricted", "failed"}


@pytest.fixture
def sim(simulator):
    simulator.reset()
    yield simulator
    simulator.reset()


def _pool_token() -> str:
    return f"pool-{uuid.uuid4().hex[:12]}"


def _account(login: str, *, token: str | None = None) -> GitHubUser:
    return GitHubUser.objects.create(
        login=login,
        state=GitHubUser.State.ACTIVE,
        token_encrypted=token_encrypt(token) if token else "",
        last_login_at=timezone.now(),
    )


def _edge_set(full_name: str, source: str | None = None) -> set[tuple[str, str]]:
    qs = StarEdge.objects.filter(repo__full_name__iexact=full_name)
    if source:
        qs = qs.filter(source=source)
    return {
        (login.lower(), at.strftime("%Y-%m-%dT%H:%M:%SZ"))
        for login, at in qs.values_list("user__login", "starred_at")
    }


def _truth_stargazers(sim, full_name: str) -> set[tuple[str, str]]:
    truth = sim.truth(f"repos/{full_name}/stargazers")
    return {(s["login"].lower(), s["starred_at"]) for s in truth["stargazers"]}


def _all_terminal(ids=None) -> bool:
    qs = StargazerCrawl.objects.all()
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.exists() and not qs.exclude(status__in=TERMINAL).exists()


def test_new_account_end_to_end_matches_simulator_truth(sim, worker_factory):
    """Under GitHub's 2026 restriction: listable repos are crawled, the rest restricted."""
    sim.configure(restrict_stargazers=True)
    login = "dana-kowalski"
    worker_factory(env={"GITHUB_TOKENS": _pool_token()})
    user = _account(login, token=f"sim_{login}_x")
    with transaction.atomic():
        services.account_stars_sync_request(user_id=user.pk, is_new=True)

    truth = sim.truth(f"users/{login}/starred")
    wait_until(
        lambda: _all_terminal() and StargazerCrawl.objects.count() == truth["count"],
        timeout=90,
        message="crawls did not finish",
    )

    starred = {
        (name.lower(), at.strftime("%Y-%m-%dT%H:%M:%SZ"))
        for name, at in StarEdge.objects.filter(user=user).values_list(
            "repo__full_name", "starred_at"
        )
    }
    assert starred == {(s["full_name"].lower(), s["starred_at"]) for s in truth["starred"]}
    assert AccountStarredSync.objects.get(pk=user.pk).synced_at is not None

    crawls = {c.repo.full_name: c for c in StargazerCrawl.objects.select_related("repo")}
    completed = [name for name, c in crawls.items() if c.status == "completed"]
    assert completed == ["eli-navarro/silent-kit"]
    assert _edge_set("eli-navarro/silent-kit") == _truth_stargazers(sim, "eli-navarro/silent-kit")
    assert crawls["eli-navarro/silent-kit"].stargazers_stored == 300
    assert {c.status for name, c in crawls.items() if name not in completed} == {"restricted"}
    assert all(c.priority == 0 and c.account_id == user.pk for c in crawls.values())


def _bench_crawls(
    sim, *, count: int, max_stars: int, min_stars: int = 1, token: str | None = None
) -> list[StargazerCrawl]:
    """Crawl rows for `count` bench repos with min..max stars (unrestricted, seed fixed).

    The rows belong to an account with a token of its own, so whichever worker runs
    them (a session-wide one included) uses that token's budget.
    """
    from repos.models import Repo

    account = _account(f"acct-{uuid.uuid4().hex[:10]}", token=token or _pool_token())
    listed = sim.bench_repos(2_000_000)["repos"]
    picked = [
        (i, r) for i, r in enumerate(listed) if min_stars <= r["stargazers_count"] <= max_stars
    ][:count]
    assert len(picked) == count
    crawls = []
    for i, r in picked:
        owner, name = r["full_name"].split("/")
        repo = Repo.objects.create(
            github_id=30_000_000 + i,
            full_name=r["full_name"],
            owner_login=owner,
            name=name,
            stargazers_count=r["stargazers_count"],
        )
        crawls.append(
            StargazerCrawl.objects.create(
                repo=repo,
                repo_stars=r["stargazers_count"],
                priority=StargazerCrawl.Priority.LOW,
                account=account,
            )
        )
    return crawls


def _pages(stars: int) -> int:
    return max(1, -(-stars // 100))


def _stargazer_requests(sim) -> int:
    return sim.stats()["by_kind"].get("stargazers", 0)


def test_two_workers_racing_process_each_repo_once(sim, worker_factory):
    token = _pool_token()
    crawls = _bench_crawls(sim, count=24, max_stars=400, token=token)
    worker_factory(env={"GITHUB_TOKENS": token, "STARGAZER_PAGES_PER_TASK": "2"})
    worker_factory(env={"GITHUB_TOKENS": token, "STARGAZER_PAGES_PER_TASK": "2"})
    rows = [(c.pk, c.priority, c.repo_stars) for c in crawls]
    # Every repo is sent three times: the claims, not the messages, decide.
    for _ in range(3):
        services._send_crawls(rows)
    wait_until(lambda: _all_terminal(), timeout=90, message="crawls did not finish")

    assert set(StargazerCrawl.objects.values_list("status", flat=True)) == {"completed"}
    assert _stargazer_requests(sim) == sum(_pages(c.repo_stars) for c in crawls)
    for crawl in crawls[:5]:
        assert _edge_set(crawl.repo.full_name) == _truth_stargazers(sim, crawl.repo.full_name)
    total = sum(c.repo_stars for c in crawls)
    assert StarEdge.objects.filter(source="stargazers").count() == total


def test_worker_killed_mid_repo_resumes_with_exact_edges(sim, worker_factory):
    (crawl,) = _bench_crawls(sim, count=1, min_stars=3000, max_stars=6000)
    sim.configure(faults={"slow_ms": 40, "path_prefix": "/api/v3/repos/"})
    token = _pool_token()
    env = {"GITHUB_TOKENS": token, "STARGAZER_PAGES_PER_TASK": "400"}
    doomed = worker_factory(env=env)
    with transaction.atomic():
        services.stargazer_crawls_dispatch(repo_ids=[crawl.pk])

    def mid_repo():
        row = StargazerCrawl.objects.get(pk=crawl.pk)
        return row.status == "processing" and row.pages_fetched >= 5

    wait_until(mid_repo, timeout=60, message="crawl never got going")
    doomed.kill()
    row = StargazerCrawl.objects.get(pk=crawl.pk)
    assert row.status == "processing" and row.pages_fetched < _pages(crawl.repo_stars)

    # An hour passes without a heartbeat: the beat sweep releases and re-sends the repo.
    StargazerCrawl.objects.filter(pk=crawl.pk).update(
        heartbeat_at=timezone.now() - timezone.timedelta(hours=2)
    )
    assert services.stargazer_claims_reset_stale() == 1
    sim.configure(faults={"slow_ms": 0})
    worker_factory(env=env)
    assert services.stargazer_crawls_dispatch() == 1
    wait_until(lambda: _all_terminal([crawl.pk]), timeout=90, message="crawl did not resume")

    row = StargazerCrawl.objects.get(pk=crawl.pk)
    assert row.status == "completed" and row.stargazers_stored == crawl.repo_stars
    assert _edge_set(crawl.repo.full_name) == _truth_stargazers(sim, crawl.repo.full_name)
    assert StarEdge.objects.filter(repo_id=crawl.pk).count() == crawl.repo_stars


def test_repo_past_the_page_cap_ends_pagination_limited(sim, worker_factory):
    from repos.models import Repo

    repo = Repo.objects.create(
        github_id=424242,
        full_name="sg-1410725/solar-kit-1",
        owner_login="sg-1410725",
        name="solar-kit-1",
        stargazers_count=45000,
    )
    truth = sim.truth("repos/sg-1410725/solar-kit-1/stargazers", limit=0)
    assert truth["stargazers_count"] == 45000
    owner = _account(f"acct-{uuid.uuid4().hex[:10]}", token=_pool_token())
    StargazerCrawl.objects.create(repo=repo, repo_stars=45000, account=owner)
    worker_factory(env={"GITHUB_TOKENS": _pool_token(), "STARGAZER_PAGES_PER_TASK": "100"})
    services.stargazer_crawls_dispatch()
    wait_until(lambda: _all_terminal([repo.pk]), timeout=240, message="capped repo unfinished")

    row = StargazerCrawl.objects.get(pk=repo.pk)
    assert row.status == "pagination_limited"
    assert row.stargazers_stored == 40000 and row.notes == "too many stargazers"
    assert StarEdge.objects.filter(repo=repo).count() == 40000


def test_rate_limit_exhaustion_waits_for_reset_never_over_ceiling(sim, worker_factory):
    token = _pool_token()
    crawls = _bench_crawls(sim, count=4, min_stars=250, max_stars=500, token=token)
    sim.configure(rate_limit=10, rate_window=6)
    worker_factory(env={"GITHUB_TOKENS": token})
    services.stargazer_crawls_dispatch()

    def drained():
        services.stargazer_crawls_dispatch()  # what beat does every minute
        return _all_terminal()

    wait_until(lambda: StargazerCrawl.objects.filter(status="rate_limited").exists(), timeout=30)
    row = StargazerCrawl.objects.filter(status="rate_limited").first()
    assert row.not_before is not None and row.claimed_by == ""
    wait_until(drained, timeout=120, interval=0.5, message="rate-limited work never resumed")

    assert set(StargazerCrawl.objects.values_list("status", flat=True)) == {"completed"}
    stats = sim.stats()
    assert stats["max_used"][f"token:{token}"]["core"] <= 10
    assert stats["primary_limited"] == 0
    for crawl in crawls:
        assert StarEdge.objects.filter(repo_id=crawl.pk).count() == crawl.repo_stars


def test_secondary_limit_retries_after_retry_after(sim, worker_factory):
    token = _pool_token()
    (crawl,) = _bench_crawls(sim, count=1, min_stars=250, max_stars=600, token=token)
    sim.configure(secondary={"mode": "next", "count": 1, "retry_after": 1, "status": 403})
    worker_factory(env={"GITHUB_TOKENS": token})
    services.stargazer_crawls_dispatch()
    wait_until(lambda: _all_terminal([crawl.pk]), timeout=60, message="never recovered")

    row = StargazerCrawl.objects.get(pk=crawl.pk)
    assert row.status == "completed"
    assert sim.stats()["secondary_limited"] == 1
    assert _edge_set(crawl.repo.full_name) == _truth_stargazers(sim, crawl.repo.full_name)


def test_redis_flushed_mid_run_loses_no_work(sim, worker_factory, redis_test_client):
    crawls = _bench_crawls(sim, count=30, max_stars=300)
    services.stargazers_pause(reason="load the queues")
    worker = worker_factory(env={"GITHUB_TOKENS": _pool_token(), "STARGAZER_PAGES_PER_TASK": "1"})
    services.stargazers_resume()  # enqueues everything
    wait_until(lambda: StargazerCrawl.objects.filter(status="completed").count() >= 3)
    redis_test_client.flushdb()  # our own test Redis DB: every waiting message is gone
    wait_until(lambda: not StargazerCrawl.objects.filter(status="processing").exists())
    assert not _all_terminal()
    assert worker.answers_ping()
    wait_until(
        lambda: services.stargazer_crawls_dispatch() >= 0 and _all_terminal(),
        timeout=90,
        interval=0.5,
        message="work lost with the flush",
    )
    assert set(StargazerCrawl.objects.values_list("status", flat=True)) == {"completed"}
    assert StarEdge.objects.count() == sum(c.repo_stars for c in crawls)


def test_pause_then_resume(sim, worker_factory):
    crawls = _bench_crawls(sim, count=8, max_stars=200)
    worker_factory(env={"GITHUB_TOKENS": _pool_token()})
    services.stargazers_pause(reason="maintenance")
    # Sent as the dispatcher sends them (rows marked enqueued), despite the pause.
    StargazerCrawl.objects.update(enqueued_at=timezone.now())
    services._send_crawls([(c.pk, c.priority, c.repo_stars) for c in crawls])
    # Paused tasks consume their messages and release without work.
    wait_until(
        lambda: not StargazerCrawl.objects.filter(enqueued_at__isnull=False).exists(), timeout=30
    )
    assert _stargazer_requests(sim) == 0
    assert set(StargazerCrawl.objects.values_list("status", flat=True)) == {"pending"}
    assert services.stargazer_crawls_dispatch() == 0  # the sweep honours the pause too

    assert services.stargazers_resume() == len(crawls)
    wait_until(lambda: _all_terminal(), timeout=60)
    assert set(StargazerCrawl.objects.values_list("status", flat=True)) == {"completed"}


def test_refresh_of_completed_repo_rereads_only_the_last_page(sim, worker_factory):
    (crawl,) = _bench_crawls(sim, count=1, min_stars=450, max_stars=990)
    worker_factory(env={"GITHUB_TOKENS": _pool_token()})
    services.stargazer_crawls_dispatch()
    wait_until(lambda: _all_terminal([crawl.pk]), timeout=60)
    first = _stargazer_requests(sim)
    assert first == _pages(crawl.repo_stars)

    services.crawl_reprocess(key=crawl.repo.full_name)  # a refresh, not forced
    wait_until(lambda: _all_terminal([crawl.pk]), timeout=60)
    row = StargazerCrawl.objects.get(pk=crawl.pk)
    assert row.status == "completed" and row.stargazers_stored == crawl.repo_stars
    assert _stargazer_requests(sim) == first + 1  # only the last page, conditionally
    assert sim.stats()["not_modified"] >= 1


def test_workers_scale_grows_a_real_pool(sim, worker_factory, settings):
    from rest_framework.test import APIClient

    from workers.health import worker_snapshot

    settings.ADMIN_API_KEY = "k"
    worker = worker_factory(env={"GITHUB_TOKENS": _pool_token()}, concurrency=1)
    client = APIClient(HTTP_AUTHORIZATION="Bearer k")
    response = client.post(
        "/admin-api/workers/scale",
        {"concurrency": 2, "workers": [worker.hostname]},
        format="json",
    )
    assert response.status_code == 200, response.content
    (entry,) = response.json()["workers"]
    assert entry["before"] == 1 and entry["change"] == 1

    def processes() -> int:
        from config.celery import app

        with app.connection_for_write() as conn:
            stats = app.control.inspect(
                timeout=1, destination=[worker.hostname], connection=conn
            ).stats()
        return len(((stats or {}).get(worker.hostname) or {}).get("pool", {}).get("processes", []))

    wait_until(lambda: processes() == 2, timeout=20, interval=0.5)
    assert worker_snapshot(timeout=1)["total"] >= 1


@pytest.mark.parametrize("response", ["403", "empty"])
def test_restricted_repo_ends_restricted_not_failed(sim, worker_factory, response):
    (crawl,) = _bench_crawls(sim, count=1, min_stars=150, max_stars=400)
    sim.configure(restrict_stargazers=True, restricted_response=response)
    worker_factory(env={"GITHUB_TOKENS": _pool_token()})
    services.stargazer_crawls_dispatch()
    wait_until(lambda: _all_terminal([crawl.pk]), timeout=60)

    row = StargazerCrawl.objects.get(pk=crawl.pk)
    assert row.status == "restricted" and row.claimed_by == ""
    assert row.not_before > timezone.now() + timezone.timedelta(days=1)  # rechecked rarely
    assert not StarEdge.objects.filter(repo_id=crawl.pk).exists()
    # Not due again before the recheck: the sweep leaves it alone.
    assert services.stargazer_crawls_dispatch(repo_ids=[crawl.pk]) == 0


def test_dead_mans_switch_kills_a_stuck_task_and_releases_its_repo(sim, worker_factory):
    (crawl,) = _bench_crawls(sim, count=1, min_stars=150, max_stars=400)
    from stargazers.tasks import stargazer_crawl

    # Every stargazer page answers after 4 s; this message's deadline is 3 s (soft 1 s).
    # (Limits travel with the message, so they are set where it is sent.)
    sim.configure(faults={"slow_ms": 4000, "path_prefix": "/api/v3/repos/"})
    worker_factory(env={"GITHUB_TOKENS": _pool_token()})
    stargazer_crawl.apply_async(args=[crawl.pk], queue="low", time_limit=3, soft_time_limit=1)

    def released():
        row = StargazerCrawl.objects.get(pk=crawl.pk)
        return row.status == "pending" and row.started_at is not None and row.claimed_by == ""

    wait_until(released, timeout=30, message="stuck task was not released")
    row = StargazerCrawl.objects.get(pk=crawl.pk)
    assert row.error in {"soft time limit"} or row.error.startswith("task failed")
    assert row.pages_fetched == 0


def test_workers_scale_sets_the_autoscale_range(sim, worker_factory, settings):
    """A worker run with --autoscale uses our autoscaler; scale sets its range."""
    from rest_framework.test import APIClient

    from config.celery import app

    settings.ADMIN_API_KEY = "k"
    worker = worker_factory(env={"GITHUB_TOKENS": _pool_token()}, extra_args=["--autoscale=3,1"])

    def autoscaler() -> dict:
        with app.connection_for_write() as conn:
            stats = app.control.inspect(
                timeout=1, destination=[worker.hostname], connection=conn
            ).stats()
        return ((stats or {}).get(worker.hostname) or {}).get("autoscaler") or {}

    assert wait_until(autoscaler, timeout=10)["max"] == 3
    client = APIClient(HTTP_AUTHORIZATION="Bearer k")
    body = {"max": 4, "min": 2, "workers": [worker.hostname]}
    response = client.post("/admin-api/workers/scale", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["workers"][0]["mode"] == "autoscale"
    wait_until(lambda: autoscaler().get("max") == 4 and autoscaler().get("min") == 2, timeout=10)
    with app.connection_for_write() as conn:
        conf = app.control.inspect(timeout=1, destination=[worker.hostname], connection=conn).conf()
    assert conf[worker.hostname]["worker_autoscaler"] == (
        "workers.autoscale:ResourceAwareAutoscaler"
    )


def test_sigterm_mid_repo_releases_the_claim_and_another_worker_finishes_it(sim, worker_factory):
    """A graceful stop: a warm shutdown gives the repo back at once."""

    (crawl,) = _bench_crawls(sim, count=1, min_stars=4000, max_stars=6000)
    # Slow pages: the crawl must outlast the rescuer's start on a busy machine.
    sim.configure(faults={"slow_ms": 250, "path_prefix": "/api/v3/repos/"})
    env = {"GITHUB_TOKENS": _pool_token(), "STARGAZER_PAGES_PER_TASK": "400"}
    stopping = worker_factory(env=env)
    with transaction.atomic():
        services.stargazer_crawls_dispatch(repo_ids=[crawl.pk])

    def mid_repo():
        row = StargazerCrawl.objects.get(pk=crawl.pk)
        return row.status == "processing" and row.pages_fetched >= 2

    wait_until(mid_repo, timeout=60, message="crawl never got going")
    rescuer = worker_factory(env=env)  # a rolling deploy: the new worker is up first
    row = StargazerCrawl.objects.get(pk=crawl.pk)
    assert row.status == "processing" and row.claimed_by.startswith(stopping.hostname)
    assert row.pages_fetched < _pages(crawl.repo_stars)

    # Warm shutdown: SIGTERM to the main process only, as `docker stop` sends it.
    os.kill(stopping.process.pid, signal.SIGTERM)

    def released_or_taken():
        row = StargazerCrawl.objects.get(pk=crawl.pk)
        return row.status == "pending" or not row.claimed_by.startswith(stopping.hostname)

    # Within docker stop's 10-second grace period, before a SIGKILL would come.
    wait_until(released_or_taken, timeout=10, interval=0.05, message="claim kept")
    assert stopping.process.wait(timeout=60) == 0
    sim.configure(faults={"slow_ms": 0})

    # No sweep, no TTL: the stopping worker sent the repo on; the rescuer takes it.
    wait_until(lambda: _all_terminal([crawl.pk]), timeout=120, message="crawl not finished")
    row = StargazerCrawl.objects.get(pk=crawl.pk)
    assert row.status == "completed" and row.stargazers_stored == crawl.repo_stars
    assert _edge_set(crawl.repo.full_name) == _truth_stargazers(sim, crawl.repo.full_name)
    assert StarEdge.objects.filter(repo_id=crawl.pk).count() == crawl.repo_stars
    log = stopping.log_path.read_text()
    assert "stargazers.worker_stopping" in log and "released=1" in log
    assert "worker.final_figures" in log and "crawls_released=1" in log
    assert "stargazers.completed" in rescuer.log_path.read_text()
