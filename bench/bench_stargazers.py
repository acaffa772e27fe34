"""Benchmark the star-graph ingest: end to end through Celery against two ceilings.

In one run, over the same bench-org repositories from the simulator
(`GET /_sim/bench-repos?total_edges=N`, default one million edges):

  (a) raw ceiling: the same users and edges loaded with Postgres `COPY`;
  (b) the engine's per-page transactions (`stargazer_page_store`) called directly,
      without Celery or HTTP;
  (c) end to end: crawl rows dispatched to real Celery workers, which fetch every page
      from the simulator and store it.

Then a budget run: with a simulated GitHub window (`rate_limit` per `rate_window`), the
share of the token budget the engine uses, and whether any request went over it.

Uses its own database (`gazer_bench`, created and migrated here) and Redis database
(`--redis-db`, default 14, flushed), never the development or test ones.

    .venv/bin/python bench/bench_stargazers.py [--edges 1000000] [--workers 2]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.isolation import bench_main, bench_parser  # noqa: E402

BENCH_DB = "gazer_bench"
COMMAND = ".venv/bin/python bench/bench_stargazers.py"


def _args(argv=None):
    parser = bench_parser(__doc__, redis_db=14)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--concurrency", type=int, default=3, help="pool size per worker")
    parser.add_argument("--tokens", type=int, default=8, help="server pool tokens")
    parser.add_argument("--budget-limit", type=int, default=200, help="requests per window")
    parser.add_argument("--budget-window", type=int, default=10, help="window seconds")
    parser.add_argument("--budget-windows", type=int, default=4, help="windows measured")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    return bench_main(script=__file__, argv=argv, parse=_args, child=_child, bench_db=BENCH_DB)


# ------------------------------------------------------------------------- the run
def _child(args) -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    assert settings.DATABASES["default"]["NAME"] == BENCH_DB, "bench must use gazer_bench"
    import redis

    from ghsim.testing import SimulatorProcess

    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    sim = SimulatorProcess(seed=1, rate_limit=10**9)
    sim.start()
    try:
        settings.GITHUB_API_URL = sim.api_url
        settings.GITHUB_WEB_URL = sim.web_url
        listed = sim.bench_repos(args.edges)
        repos = [(r["full_name"], r["stargazers_count"]) for r in listed["repos"]]
        total = sum(s for _, s in repos)
        print(f"bench repos: {len(repos)}, edges: {total}", flush=True)
        world = _world(sim)

        _truncate(connection)
        copy_s = _copy_ceiling(connection, world, repos, sim)
        print(f"(a) COPY: {total / copy_s:,.0f} edges/s ({copy_s:.1f}s)", flush=True)

        _truncate(connection)
        direct_s = _direct_pages(world, repos, sim)
        print(f"(b) page transactions: {total / direct_s:,.0f} edges/s ({direct_s:.1f}s)")

        _truncate(connection)
        e2e_s, requests = _end_to_end(args, repos, sim, settings)
        stored = _count(connection, "gazer_star_edge")
        print(f"(c) end to end: {stored / e2e_s:,.0f} edges/s ({e2e_s:.1f}s), {requests} req")

        _truncate(connection)
        budget = _budget(args, repos, sim, settings)
        print(f"budget: {budget}", flush=True)
    finally:
        sim.stop()

    ok = stored == total and budget["max_used"] <= args.budget_limit
    rows = [
        ("(a) `COPY` of the same users and edges", total / copy_s, copy_s),
        ("(b) per-page transactions, no Celery/HTTP", total / direct_s, direct_s),
        ("(c) end to end: Celery workers + simulator HTTP", stored / e2e_s, e2e_s),
    ]
    markdown = _markdown(
        args, rows, repos=len(repos), total=total, stored=stored, requests=requests, budget=budget
    )
    print(markdown)
    if not args.no_write:
        from bench.report import write_section

        write_section("stargazers", markdown)
    return 0 if ok else 1


def _markdown(
    args, rows, *, repos: int, total: int, stored: int, requests: int, budget: dict
) -> str:
    """The section of BENCHMARKS.md: the three ingest paths and the budget run."""
    table = [
        "| path | edges/s | seconds | vs (a) | vs (b) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, rate, seconds in rows:
        table.append(
            f"| {name} | {rate:,.0f} | {seconds:.1f} | {rate / rows[0][1]:.0%} | "
            f"{rate / rows[1][1]:.0%} |"
        )
    return "\n".join(
        [
            "## Star graph ingest",
            "",
            f"Star-graph ingest of {total:,} edges over {repos} bench repos "
            f"({requests:,} stargazer pages), {args.workers} worker(s) × "
            f"{args.concurrency} processes, {args.tokens} pool tokens; "
            f"stored = {stored:,} ({'exact' if stored == total else 'MISMATCH'}).",
            "",
            *table,
            "",
            f"End to end reaches **{rows[2][1] / rows[1][1]:.0%} of (b)** "
            f"(target ≥ 40 %) and {rows[2][1] / rows[0][1]:.0%} of the `COPY` ceiling.",
            "",
            f"GitHub budget: simulated window of {args.budget_limit} requests per "
            f"{args.budget_window}s, {args.budget_windows} windows: "
            f"**{budget['share']:.0%} of the budget used**, highest use in one window "
            f"{budget['max_used']}/{args.budget_limit} (never over: "
            f"{'yes' if budget['max_used'] <= args.budget_limit else 'NO'}), "
            f"{budget['primary_limited']} requests refused for the primary limit.",
            "",
            f"Command: `{COMMAND} --edges {args.edges} --workers {args.workers} "
            f"--concurrency {args.concurrency}`",
        ]
    )


def _world(sim):
    from ghsim.world import World

    # Star layouts depend on the seed and user count only, not on the URL.
    return World(seed=1, users=12, web_url=sim.web_url, data_dir=None)


def _truncate(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE gazer_star_edge, gazer_stargazer_crawl, gazer_star_history_day, "
            "gazer_repo, gazer_github_user RESTART IDENTITY CASCADE"
        )


def _count(connection, table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - a constant name
        return cursor.fetchone()[0]


def _repo_rows(repos):
    """Repo rows for the bench repos (github ids as the simulator gives them)."""
    from repos.models import Repo

    rows = []
    for full_name, stars in repos:
        index = int(full_name.rsplit("-", 1)[1])
        rows.append(
            Repo(
                github_id=30_000_000 + index,
                full_name=full_name,
                owner_login="bench-org",
                name=full_name.split("/")[1],
                stargazers_count=stars,
            )
        )
    return Repo.objects.bulk_create(rows)


def _stargazers(world, full_name: str, stars: int, web: str):
    """(github_id, login, avatar, html, starred_at iso) for every stargazer, in order."""
    from ghsim.util import iso

    repo = world.get_repo_by_full_name(full_name)
    for i in range(stars):
        slot = world.stargazer_slot(repo, i)
        login = world.pool_login(slot)
        uid = 1_000_000 + slot
        yield (
            uid,
            login,
            f"{web}/_avatars/u/{uid}?v=4",
            f"{web}/{login}",
            iso(world.star_time(repo, i)),
        )


def _copy_ceiling(connection, world, repos, sim) -> float:
    """(a) COPY the users and edges; only the COPY itself is timed."""
    created = _repo_rows(repos)
    users: dict[int, tuple] = {}
    edges: list[tuple] = []
    for repo, (full_name, stars) in zip(created, repos, strict=True):
        for gid, login, avatar, html, at in _stargazers(world, full_name, stars, sim.web_url):
            users.setdefault(gid, (login, avatar, html))
            edges.append((repo.pk, gid, at))
    user_ids = {gid: n for n, gid in enumerate(sorted(users), start=1)}
    # The COPY text is built first (untimed): the ceiling is Postgres loading rows.
    user_text = "".join(
        f"{user_ids[gid]}\t{login}\t{gid}\tdiscovered\t\t{avatar}\t{html}\t\t\t\t\t\t\tnow\tnow\n"
        for gid, (login, avatar, html) in users.items()
    ).encode()
    edge_text = "".join(
        f"{repo_id}\t{user_ids[gid]}\t{at}\tstargazers\tnow\n" for repo_id, gid, at in edges
    ).encode()
    raw = connection.connection  # psycopg 3
    started = time.perf_counter()
    with raw.cursor() as cursor:
        with cursor.copy(
            "COPY gazer_github_user (id, login, github_id, state, name, avatar_url, html_url, "
            "bio, company, location, blog, theme, token_encrypted, created_at, updated_at) "
            "FROM STDIN"
        ) as copy:
            for offset in range(0, len(user_text), 1 << 20):
                copy.write(user_text[offset : offset + (1 << 20)])
        with cursor.copy(
            "COPY gazer_star_edge (repo_id, user_id, starred_at, source, created_at) FROM STDIN"
        ) as copy:
            for offset in range(0, len(edge_text), 1 << 20):
                copy.write(edge_text[offset : offset + (1 << 20)])
    raw.commit()
    return time.perf_counter() - started


def _direct_pages(world, repos, sim) -> float:
    """(b) The engine's page transaction per page of 100, in one process."""
    from stargazers.models import StargazerCrawl
    from stargazers.services import stargazer_page_store

    created = _repo_rows(repos)
    crawls = StargazerCrawl.objects.bulk_create(
        [
            StargazerCrawl(
                repo=r, repo_stars=r.stargazers_count, status="processing", claimed_by="bench"
            )
            for r in created
        ]
    )
    elapsed = 0.0
    for crawl, (full_name, stars) in zip(crawls, repos, strict=True):
        rows = list(_stargazers(world, full_name, stars, sim.web_url))
        pages = -(-stars // 100)
        for number in range(1, pages + 1):
            chunk = rows[(number - 1) * 100 : number * 100]
            page = SimpleNamespace(
                items=[
                    {
                        "starred_at": at,
                        "user": {"login": lg, "id": gid, "avatar_url": av, "html_url": html},
                    }
                    for gid, lg, av, html, at in chunk
                ],
                url=f"{sim.api_url}/repos/{full_name}/stargazers?per_page=100&page={number}",
                next_url=None if number == pages else f"next-{number + 1}",
                etag='W/"bench"',
                page_number=number,
                not_modified=False,
            )
            started = time.perf_counter()
            stargazer_page_store(crawl=crawl, worker="bench", page=page)
            elapsed += time.perf_counter() - started
    return elapsed


def _start_workers(args, settings, sim, *, per_hour: int, tokens: list[str]):
    from workers.testing import CeleryWorkerProcess

    db = settings.DATABASES["default"]
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}"
        f":{db.get('PORT') or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "GITHUB_API_URL": sim.api_url,
        "GITHUB_WEB_URL": sim.web_url,
        "GITHUB_TOKENS": ",".join(tokens),
        "GITHUB_REQUESTS_PER_HOUR": str(per_hour),
        "STARGAZER_PAGES_PER_TASK": "25",
        "LOG_LEVEL": "WARNING",
    }
    if db.get("PASSWORD"):
        env["DATABASE_URL"] = env["DATABASE_URL"].replace("@", f":{db['PASSWORD']}@", 1)
    return [
        CeleryWorkerProcess(env=env, concurrency=args.concurrency, name=f"bench-{i}").start(
            timeout=60
        )
        for i in range(args.workers)
    ]


def _create_crawls(repos):
    from stargazers.models import StargazerCrawl

    created = _repo_rows(repos)
    StargazerCrawl.objects.bulk_create(
        [StargazerCrawl(repo=r, repo_stars=r.stargazers_count) for r in created]
    )


def _unfinished() -> int:
    from stargazers.models import StargazerCrawl

    return StargazerCrawl.objects.exclude(status__in=["completed", "pagination_limited"]).count()


def _end_to_end(args, repos, sim, settings) -> tuple[float, int]:
    """(c) Real workers fetch every page from the simulator and store it."""
    from stargazers import services

    sim.reset()
    sim.configure(rate_limit=10**9)
    _create_crawls(repos)
    tokens = [f"bench-token-{i}" for i in range(args.tokens)]
    workers = _start_workers(args, settings, sim, per_hour=10**7, tokens=tokens)
    try:
        started = time.perf_counter()
        services.stargazer_crawls_dispatch(limit=100_000)
        last_sweep = time.perf_counter()
        while _unfinished():
            time.sleep(0.5)
            if time.perf_counter() - last_sweep > 30:  # what beat does
                services.stargazer_crawls_dispatch(limit=100_000)
                last_sweep = time.perf_counter()
        elapsed = time.perf_counter() - started
    finally:
        for worker in workers:
            worker.stop()
    return elapsed, sim.stats()["by_kind"].get("stargazers", 0)


def _budget(args, repos, sim, settings) -> dict:
    """Share of a simulated GitHub window used while there is more work than budget."""
    from stargazers import services

    sim.reset()
    sim.configure(rate_limit=args.budget_limit, rate_window=args.budget_window)
    _create_crawls(repos)
    token = "bench-budget-token"  # noqa: S105 - a simulator token
    workers = _start_workers(args, settings, sim, per_hour=10**7, tokens=[token])
    try:
        started = time.perf_counter()
        services.stargazer_crawls_dispatch(limit=100_000)
        # Stop half-way through the last window: every window counted has begun, and
        # the engine spends a window's budget in well under half of it.
        span = args.budget_window * (args.budget_windows - 0.5)
        while time.perf_counter() - started < span:
            time.sleep(0.25)
            services.stargazer_crawls_dispatch(limit=100_000)  # beat, sped up
        stats = sim.stats()
        services.stargazers_pause(reason="bench over")
    finally:
        for worker in workers:
            worker.stop()
        services.stargazers_resume()
    sent = stats["by_token"].get(token, 0)
    max_used = stats["max_used"].get(f"token:{token}", {}).get("core", 0)
    return {
        "requests": sent,
        "share": sent / (args.budget_limit * args.budget_windows),
        "max_used": max_used,
        "primary_limited": stats.get("primary_limited", 0),
    }


if __name__ == "__main__":
    sys.exit(main())
