"""Benchmark the GitHub simulator alone (no Gazer code involved).

Starts ``python -m ghsim`` on a free port, then drives it with an aiohttp client
holding N concurrent connections for a fixed number of requests per scenario
(bounded in time), and prints a table plus a Markdown snippet.

    .venv/bin/python bench/bench_ghsim.py [--requests 3000] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time

import aiohttp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ghsim.testing import SimulatorProcess

TOKEN = {"Authorization": "token bench-token"}


async def _run(session, url, headers, n, conns, budget_s, expect):
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    nbytes = 0
    counter = iter(range(n))
    deadline = time.perf_counter() + budget_s

    async def worker():
        nonlocal nbytes
        for _ in counter:
            if time.perf_counter() > deadline:
                return
            t0 = time.perf_counter()
            async with session.get(url(), headers=headers) as resp:
                body = await resp.read()
            latencies.append(time.perf_counter() - t0)
            statuses[resp.status] = statuses.get(resp.status, 0) + 1
            nbytes += len(body)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conns)))
    elapsed = time.perf_counter() - t0
    done = len(latencies)
    lat = sorted(latencies)
    return {
        "requests": done,
        "seconds": elapsed,
        "rps": done / elapsed if elapsed else 0.0,
        "p50_ms": statistics.median(lat) * 1000 if lat else 0.0,
        "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000 if lat else 0.0,
        "kb_per_req": nbytes / done / 1024 if done else 0.0,
        "ok": statuses.get(expect, 0) == done,
        "statuses": statuses,
    }


async def bench(base: str, n: int, conns: int, budget_s: float) -> list[tuple[str, dict]]:
    api = base + "/api/v3"
    connector = aiohttp.TCPConnector(limit=conns)
    results = []
    async with aiohttp.ClientSession(connector=connector) as s:
        async with s.get(base + "/_sim/bench-repos?total_edges=200000") as r:
            repos = (await r.json())["repos"]
        big = max(repos, key=lambda x: x["stargazers_count"])
        pages = max(1, min(400, big["stargazers_count"] // 100))
        star = {**TOKEN, "Accept": "application/vnd.github.star+json"}
        # warm up world caches for the repo
        async with s.get(
            f"{api}/repos/{big['full_name']}/stargazers?per_page=100", headers=star
        ) as r:
            await r.read()
        async with s.get(f"{api}/users/avery-lin", headers=TOKEN) as r:
            etag = r.headers["ETag"]
        k = iter(range(10**9))

        def star_url():
            return (
                f"{api}/repos/{big['full_name']}/stargazers?per_page=100&page={next(k) % pages + 1}"
            )

        scenarios = [
            ("stargazers page (star+json, 100/page)", star_url, star, 200),
            ("user profile", lambda: f"{api}/users/avery-lin", TOKEN, 200),
            (
                "304 conditional user",
                lambda: f"{api}/users/avery-lin",
                {**TOKEN, "If-None-Match": etag},
                304,
            ),
            ("rate_limit", lambda: f"{api}/rate_limit", TOKEN, 200),
        ]
        for name, url, headers, expect in scenarios:
            res = await _run(s, url, headers, n, conns, budget_s, expect)
            results.append((name, res))
    return results


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=3000, help="requests per scenario")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--budget", type=float, default=20.0, help="max seconds per scenario")
    p.add_argument("--url", default=None, help="use a running simulator instead of starting one")
    args = p.parse_args()
    sim = None
    base = args.url
    if base is None:
        sim = SimulatorProcess(seed=1, rate_limit=10**9).start()
        base = sim.base_url
    try:
        results = asyncio.run(bench(base.rstrip("/"), args.requests, args.connections, args.budget))
    finally:
        if sim is not None:
            sim.stop()
    print(f"ghsim benchmark: {args.requests} requests/scenario, {args.connections} connections")
    print(f"{'scenario':42} {'req':>6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'KB/req':>7} ok")
    for name, r in results:
        print(
            f"{name:42} {r['requests']:6d} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
            f"{r['kb_per_req']:7.1f} {'yes' if r['ok'] else r['statuses']}"
        )
    print()
    print("| scenario | requests | req/s | p50 ms | p99 ms | KB/req |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in results:
        print(
            f"| {name} | {r['requests']} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
            f"| {r['kb_per_req']:.1f} |"
        )
    return 0 if all(r["ok"] for _, r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
