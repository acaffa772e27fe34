"""The GitHub gateway against the simulator: overhead, conditional requests, shared ceiling.

Measures, in one run: requests per second through the gateway (token slot in Redis,
header bookkeeping) versus a bare `requests.Session`, sequential and with threads; the
GitHub budget a second profile refresh costs thanks to ETags (304s are free); and the
ceiling held by several processes sharing one token.

    .venv/bin/python bench/bench_gateway.py [--requests 1500] [--threads 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _setup():
    import django

    django.setup()


def _token(login: str = "avery-lin") -> str:
    return f"sim_{login}_{uuid.uuid4().hex[:10]}"


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else 0.0


def bench_overhead(sim, n: int, threads: int) -> list[tuple[str, float]]:
    import requests
    from django.conf import settings

    from workers.github.client import GitHubGateway

    url = sim.api_url + "/users/avery-lin"
    session = requests.Session()
    headers = {"Authorization": f"token {_token()}", "Accept": "application/vnd.github+json"}
    session.get(url, headers=headers, timeout=10)

    def raw_one(_):
        resp = session.get(url, headers=headers, timeout=10)
        resp.raise_for_status()

    gw = GitHubGateway(
        api_url=sim.api_url,
        web_url=sim.web_url,
        tokens=[_token(), _token("bram-okafor")],
        requests_per_hour=10**9,
        redis_url=settings.REDIS_URL,
    )

    def gw_one(_):
        gw.get_json("/users/avery-lin", cache=False)

    results = []
    for label, fn in (("bare requests.Session", raw_one), ("gateway", gw_one)):
        fn(0)
        started = time.perf_counter()
        for i in range(n):
            fn(i)
        results.append((f"{label}, 1 thread", _rate(n, time.perf_counter() - started)))
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(fn, range(n)))
        results.append((f"{label}, {threads} threads", _rate(n, time.perf_counter() - started)))
    return results


def bench_conditional(sim) -> dict:
    from django.conf import settings

    from workers.github.client import GitHubGateway

    token = _token()
    gw = GitHubGateway(
        api_url=sim.api_url,
        web_url=sim.web_url,
        tokens=[token],
        requests_per_hour=10**9,
        redis_url=settings.REDIS_URL,
    )

    def refresh() -> tuple[int, float]:
        before = sim.stats()["by_token"].get(token, 0)
        started = time.perf_counter()
        for login in ("avery-lin", "bram-okafor", "chen-wei"):
            gw.user(login)
            for repo in gw.user_repos(login, limit=30):
                name = repo["full_name"]
                gw.repo(name)
                gw.readme(name)
                gw.languages(name)
                gw.branches(name, limit=10)
        return sim.stats()["by_token"][token] - before, time.perf_counter() - started

    sent_first, t_first = refresh()
    used_first = gw.limits.budget(token).used
    sent_second, t_second = refresh()
    used_second = gw.limits.budget(token).used - used_first
    return {
        "requests": sent_first,
        "first_budget": used_first,
        "second_requests": sent_second,
        "second_budget": used_second,
        "first_s": t_first,
        "second_s": t_second,
    }


HAMMER = textwrap.dedent(
    """
    import json, django
    django.setup()
    from workers.github import github, errors
    ok = limited = 0
    for _ in range(int(__import__("sys").argv[1])):
        try:
            github().get_json("/users/avery-lin", cache=False)
            ok += 1
        except errors.RateLimited:
            limited += 1
    print(json.dumps({"ok": ok, "limited": limited}))
    """
)


def bench_ceiling(sim, processes: int, ceiling: int, per_process: int) -> dict:
    from django.conf import settings

    token = _token()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": settings.REDIS_URL,
        "GITHUB_API_URL": sim.api_url,
        "GITHUB_WEB_URL": sim.web_url,
        "GITHUB_TOKENS": token,
        "GITHUB_REQUESTS_PER_HOUR": str(ceiling),
        "LOG_LEVEL": "WARNING",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", HAMMER, str(per_process)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    outs = [json.loads(p.communicate(timeout=300)[0].strip().splitlines()[-1]) for p in procs]
    return {
        "attempted": processes * per_process,
        "ok": sum(o["ok"] for o in outs),
        "at_simulator": sim.stats()["by_token"].get(token, 0),
        "ceiling": ceiling,
        "processes": processes,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    args = parser.parse_args()
    _setup()
    from bench.report import write_section
    from ghsim.testing import SimulatorProcess

    started = time.monotonic()
    with SimulatorProcess(seed=1, rate_limit=10**9) as sim:
        overhead = bench_overhead(sim, args.requests, args.threads)
        conditional = bench_conditional(sim)
        ceiling = bench_ceiling(sim, processes=4, ceiling=150, per_process=100)
    rates = dict(overhead)
    lines = [
        "## GitHub gateway",
        "",
        "Gateway (`workers/github/`) against the simulator. `.venv/bin/python "
        "bench/bench_gateway.py` (or `make bench ARGS=gateway`); "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}, {os.cpu_count()} CPUs, "
        f"{time.monotonic() - started:.0f} s.",
        "",
        f"Throughput, `GET /users/{{u}}` without the conditional cache, {args.requests} "
        "requests per row (each gateway call: a Lua slot-take in Redis, the request, "
        "a Lua header update):",
        "",
        "| client | req/s | vs bare |",
        "|---|---:|---:|",
    ]
    for label, rate in overhead:
        bare = rates[label.replace("gateway", "bare requests.Session")]
        lines.append(f"| {label} | {rate:.0f} | {rate / bare:.2f}× |")
    c = conditional
    lines += [
        "",
        "Conditional requests: a profile refresh of 3 users (user, repos, and per repo: "
        "repo, README, languages, branches), twice with the same token:",
        "",
        "| pass | requests sent | budget spent | seconds |",
        "|---|---:|---:|---:|",
        f"| first | {c['requests']} | {c['first_budget']} | {c['first_s']:.2f} |",
        f"| second (ETags, 304s) | {c['second_requests']} | {c['second_budget']} "
        f"| {c['second_s']:.2f} |",
        "",
        f"Budget of the second pass: {c['second_budget'] / max(1, c['first_budget']):.2f}× "
        "the first.",
        "",
        f"Shared ceiling: {ceiling['processes']} processes, one token, ceiling "
        f"{ceiling['ceiling']}/hour, {ceiling['attempted']} attempts: {ceiling['ok']} sent, "
        f"{ceiling['at_simulator']} seen by the simulator (never above the ceiling).",
    ]
    markdown = "\n".join(lines)
    print(markdown)
    if not args.no_write:
        write_section("gateway", markdown)
    ok = ceiling["at_simulator"] <= ceiling["ceiling"] and ceiling["ok"] == ceiling["ceiling"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
