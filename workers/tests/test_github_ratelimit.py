"""Budgets: GitHub's primary and secondary limits, our own ceiling, shared by processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from django.conf import settings

from ghsim.testing import SimulatorProcess
from workers.github import errors as gh_errors
from workers.github.ratelimit import RateLimitState, token_id
from workers.redis_clients import redis_client
from workers.testing import wait_until
from workers.tests.gh_helpers import clear_gateway_cache, gateway, new_token

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 5
WINDOW = 3


@pytest.fixture(scope="module")
def sim():
    with SimulatorProcess(seed=1, rate_limit=LIMIT, rate_window=WINDOW) as process:
        yield process


@pytest.fixture(autouse=True)
def _fresh(sim):
    sim.reset()
    clear_gateway_cache()
    yield
    sim.reset()


def _spend(gw, n: int) -> None:
    for i in range(n):
        gw.get_json(f"/users/{['avery-lin', 'bram-okafor'][i % 2]}", cache=False)


def _outside(sim, token: str) -> None:
    """A request the gateway does not see (another client spending the same token)."""
    requests.get(
        sim.api_url + "/users/avery-lin", headers={"Authorization": f"token {token}"}, timeout=10
    )


def test_exhaustion_then_recovery_after_the_reset(sim):
    token = new_token()
    gw = gateway(sim, tokens=[token])
    _spend(gw, LIMIT)
    with pytest.raises(gh_errors.RateLimited) as caught:
        gw.user("chen-wei")
    assert caught.value.resource == "core"
    assert caught.value.reset_at > datetime.now(UTC).replace(microsecond=0)
    # Known from the headers: the refused call never reached the simulator.
    assert sim.stats()["by_token"][token] == LIMIT
    assert sim.stats()["primary_limited"] == 0

    def recovered() -> bool:
        try:
            return gw.user("chen-wei")["login"] == "chen-wei"
        except gh_errors.RateLimited:
            return False

    assert wait_until(recovered, timeout=WINDOW + 10)


@pytest.mark.parametrize("status", [403, 429])
def test_primary_limit_from_the_server_is_told_apart_by_remaining(sim, status):
    sim.configure(primary_status=status, rate_window=3600)
    token = new_token()
    for _ in range(LIMIT):  # spent elsewhere: the gateway has not seen these headers
        _outside(sim, token)
    gw = gateway(sim, tokens=[token])
    with pytest.raises(gh_errors.RateLimited) as caught:
        gw.user("bram-okafor")
    assert caught.value.status == status
    assert token not in str(caught.value)
    assert gw.limits.budget(token).remaining == 0


def test_pool_moves_to_a_token_with_budget_then_reports_earliest_reset(sim):
    sim.configure(rate_window=3600)
    spent, fresh = new_token(), new_token("bram-okafor")
    for _ in range(LIMIT):
        _outside(sim, spent)
    gw = gateway(sim, tokens=[spent, fresh])
    for _ in range(3):
        assert gw.get_json("/users/chen-wei", cache=False)["login"] == "chen-wei"
    by_token = sim.stats()["by_token"]
    assert by_token[fresh] >= 3 - 1  # at most one call probed the spent token first
    assert by_token.get(spent, 0) <= LIMIT + 1
    _spend(gw, LIMIT - by_token[fresh])
    with pytest.raises(gh_errors.RateLimited) as caught:
        gw.get_json("/users/chen-wei", cache=False)
    budgets = [gw.limits.budget(t).reset for t in (spent, fresh)]
    assert caught.value.reset_at.timestamp() == min(budgets)
    assert sim.stats()["by_token"][fresh] == LIMIT


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_limit_gives_retry_after_and_pauses_the_token(sim, status):
    """A secondary limit longer than the call may wait goes to the caller at once."""
    sim.configure(secondary={"mode": "next", "count": 1, "retry_after": 60, "status": status})
    token = new_token()
    gw = gateway(sim, tokens=[token])
    with pytest.raises(gh_errors.SecondaryRateLimited) as caught:
        gw.user("avery-lin")
    assert caught.value.retry_after == 60
    assert sim.stats()["secondary_limited"] == 1
    # The token rests until then, across processes: no request is sent meanwhile.
    with pytest.raises(gh_errors.RateLimited):
        gw.user("avery-lin")
    assert sim.stats()["by_token"][token] == 1


def test_secondary_backoff_without_retry_after_doubles_from_60s():
    state = RateLimitState(redis_client(settings.REDIS_URL, timeout=5), ceiling=10)
    tid = token_id(new_token())
    assert state.secondary_hit(tid, None) == 60
    assert state.secondary_hit(tid, None) == 120
    assert state.secondary_hit(tid, None) == 240
    state.secondary_clear(tid)
    assert state.secondary_hit(tid, None) == 60


def test_the_ceiling_is_never_exceeded(sim):
    sim.configure(rate_limit=1000, rate_window=3600)
    token = new_token()
    gw = gateway(sim, tokens=[token], per_hour=4)
    _spend(gw, 4)
    with pytest.raises(gh_errors.RateLimited) as caught:
        gw.get_json("/users/avery-lin", cache=False)
    # Our own window is an hour long: the slot frees up an hour after the first request.
    assert (caught.value.reset_at - datetime.now(UTC)).total_seconds() > 3000
    assert sim.stats()["by_token"][token] == 4


HAMMER = textwrap.dedent(
    """
    import json, django
    django.setup()
    from workers.github import github, errors
    ok = limited = 0
    for i in range(25):
        try:
            github().get_json("/users/avery-lin", cache=False)
            ok += 1
        except errors.RateLimited:
            limited += 1
    print(json.dumps({"ok": ok, "limited": limited}))
    """
)


def test_two_processes_share_one_ceiling(sim):
    sim.configure(rate_limit=1000, rate_window=3600)
    token = new_token()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": settings.REDIS_URL,
        "GITHUB_API_URL": sim.api_url,
        "GITHUB_WEB_URL": sim.web_url,
        "GITHUB_TOKENS": token,
        "GITHUB_REQUESTS_PER_HOUR": "17",
        "LOG_LEVEL": "WARNING",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", HAMMER], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert sum(r["ok"] for r in results) == 17
    assert sum(r["limited"] for r in results) == 50 - 17
    assert sim.stats()["by_token"][token] == 17


def test_budget_state_is_keyed_by_a_hash_never_the_token(sim):
    token = new_token()
    gw = gateway(sim, tokens=[token])
    gw.user("avery-lin")
    client = redis_client(settings.REDIS_URL, timeout=5)
    keys = [k.decode() for k in client.scan_iter("gh:*", count=1000)]
    assert any(token_id(token) in k for k in keys)
    assert not any(token in k for k in keys)
    budget = gw.limits.budget(token)
    assert budget.limit == LIMIT and budget.used == 1 and budget.remaining == LIMIT - 1
    assert budget.reset and budget.reset >= int(time.time())


def test_graphql_has_its_own_budget(sim):
    # The contributions query costs 2 points (two lists of 100 repos, each a count).
    sim.configure(rate_window=3600, graphql_limit=4)
    token = new_token()
    gw = gateway(sim, tokens=[token])
    until = datetime.now(UTC)
    since = until - timedelta(days=365)
    for _ in range(2):
        gw.contributions("avery-lin", since=since, until=until)
    with pytest.raises(gh_errors.RateLimited) as caught:
        gw.contributions("avery-lin", since=since, until=until)
    assert caught.value.resource == "graphql"
    assert gw.user("avery-lin")["login"] == "avery-lin"  # core is untouched
    assert gw.limits.budget(token, "graphql").remaining == 0
    assert gw.limits.budget(token, "core").remaining == LIMIT - 1


def test_pool_budgets_name_tokens_by_hash_only(sim):
    tokens = [new_token(), new_token("bram-okafor")]
    gw = gateway(sim, tokens=tokens)
    gw.get_json("/users/avery-lin", cache=False, token=tokens[0])
    rows = gw.pool_budgets()
    assert {(r["token"], r["resource"]) for r in rows} == {
        (token_id(t), res) for t in tokens for res in ("core", "graphql")
    }
    assert not any(t in json.dumps(rows) for t in tokens)
    first = next(r for r in rows if r["token"] == token_id(tokens[0]) and r["resource"] == "core")
    assert first["used"] == 1 and first["sent_last_hour"] == 1
