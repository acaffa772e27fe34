"""Benchmark GitHub budget units per first profile: the REST path against the GraphQL one.

For the simulator's users of 12, 30, 100 and 300 repositories and an activity-heavy one,
each profile is built cold, in this process (`manage.py run`: the ghost path, the whole
profile pipeline, no star graph), once with `GITHUB_PROFILE_FETCH=rest` and once with
`graphql`, each with a token of its own. Budget units are what GitHub would charge the
token: REST requests that cost (a 304 is free) plus GraphQL points, read from the
simulator's budgets. Reported: units per first profile, profiles per token-hour (GitHub
gives 5,000 REST requests and 5,000 GraphQL points per hour; the scarcer decides), the
units of a refresh of the unchanged user, time to ready, and each GraphQL query's
response time, points and possible nodes (after an unmeasured pass that lets the
simulator write the users' git histories).

Uses its own database (`gazer_bench_budget`) and Redis database (`--redis-db`, default
12, flushed), never the development or test ones.

    .venv/bin/python bench/bench_budget.py [--users avery-lin,load-30r-1,...]
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.isolation import bench_main, bench_parser  # noqa: E402

BENCH_DB = "gazer_bench_budget"
COMMAND = ".venv/bin/python bench/bench_budget.py"
HOURLY = 5000  # GitHub's REST requests and, separately, GraphQL points per user and hour
USERS = "avery-lin,load-30r-1,load-100r-2,load-300r-1,act-500c-1"
REPOS = {"avery-lin": 12, "act-500c-1": 20}


def _args(argv=None):
    parser = bench_parser(__doc__, redis_db=12)
    parser.add_argument("--users", default=USERS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    return bench_main(script=__file__, argv=argv, parse=_args, child=_child, bench_db=BENCH_DB)


class QueryLog(logging.Handler):
    """The gateway's one line per GraphQL query: points, possible nodes, seconds."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.rows: list[tuple[int, int, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if str(record.msg).startswith("github.graphql cost=") and record.args:
            cost, _estimate, nodes, seconds, _errors = record.args
            self.rows.append((int(cost), int(nodes), float(seconds)))


def _used(sim, token: str) -> tuple[int, int]:
    """(REST requests that cost, GraphQL points) the simulator charged to `token`."""
    budget = sim.stats()["budgets"].get(f"token:{token}") or {}
    return (budget.get("core") or {}).get("used", 0), (budget.get("graphql") or {}).get("used", 0)


def _run(login: str) -> str:
    from django.core.management import call_command

    from users.models import PipelineRun

    call_command("run", login, stdout=io.StringIO(), stderr=io.StringIO())
    run = PipelineRun.objects.filter(user__login__iexact=login).order_by("-id").first()
    return run.status if run else "none"


def _profile(sim, login: str, mode: str, queries: QueryLog) -> dict:
    import redis
    from django.conf import settings

    from users.models import GitHubUser

    GitHubUser.objects.filter(login__iexact=login).delete()  # cold
    redis.Redis.from_url(settings.REDIS_URL).flushdb()  # no ETag another run stored
    token = f"sim_bench-{uuid.uuid4().hex[:10]}"
    settings.GITHUB_TOKENS = [token]
    settings.GITHUB_PROFILE_FETCH = mode
    first_queries = len(queries.rows)
    started = time.monotonic()
    status = _run(login)
    seconds = time.monotonic() - started
    rest, points = _used(sim, token)
    query_rows = queries.rows[first_queries:]
    _run(login)  # a refresh of the unchanged user
    rest_after, points_after = _used(sim, token)
    units = rest + points
    hourly = min(
        HOURLY / rest if rest else float("inf"), HOURLY / points if points else float("inf")
    )
    return {
        "status": status,
        "rest": rest,
        "points": points,
        "units": units,
        "per_hour": hourly,
        "refresh": (rest_after - rest) + (points_after - points),
        "seconds": seconds,
        "queries": query_rows,
    }


def _child(args) -> int:
    from ghsim.testing import SimulatorProcess

    sim = SimulatorProcess(seed=1, rate_limit=1_000_000, unauth_limit=1_000_000)
    sim.start()
    os.environ.update(sim.env())
    os.environ["GITHUB_TOKENS"] = "sim_bench-pool"
    os.environ["GITHUB_REQUESTS_PER_HOUR"] = "1000000"
    import django

    django.setup()
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    queries = QueryLog()
    logging.getLogger("workers.github.graphql").addHandler(queries)
    logging.getLogger("workers.github.graphql").setLevel(logging.INFO)
    rows = []
    try:
        for login in [u for u in args.users.split(",") if u]:
            # The simulator writes each repo's git history on first need: a first pass
            # warms it, so both measured passes time answers, not that.
            _profile(sim, login, "graphql", queries)
            rest = _profile(sim, login, "rest", queries)
            graphql = _profile(sim, login, "graphql", queries)
            rows.append((login, rest, graphql))
            print(login, {k: v for k, v in graphql.items() if k != "queries"}, flush=True)
    finally:
        sim.stop()
        shutil.rmtree(Path(sim.options.get("data_dir") or "/nonexistent"), ignore_errors=True)
    table = _table(rows)
    print(table)
    if not args.no_write:
        _write(table)
    return 0


def _repos(login: str) -> int:
    if login in REPOS:
        return REPOS[login]
    return int(login.split("-")[1].rstrip("r"))


def _table(rows) -> str:
    lines = [
        "| user | repos | path | REST that cost | GraphQL points | units | profiles per "
        "token-hour | refresh units | time to ready s | run |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for login, rest, graphql in rows:
        for name, m in (("REST", rest), ("GraphQL", graphql)):
            lines.append(
                f"| {login} | {_repos(login)} | {name} | {m['rest']} | {m['points']} | "
                f"{m['units']} | {m['per_hour']:.0f} | {m['refresh']} | {m['seconds']:.1f} | "
                f"{m['status']} |"
            )
    by_login = {login: (rest, graphql) for login, rest, graphql in rows}
    lines += ["", "| goal | measured |", "|---|---:|"]
    if "load-30r-1" in by_login:
        lines.append(f"| units, 30-repo user (≤ 10) | {by_login['load-30r-1'][1]['units']} |")
    largest = max(rows, key=lambda r: r[2]["units"])
    lines.append(f"| units, the largest, {largest[0]} (≤ 25) | {largest[2]['units']} |")
    ratios = [g["per_hour"] / r["per_hour"] for _, r, g in rows if r["per_hour"]]
    lines.append(
        f"| profiles per token-hour, GraphQL ÷ REST (≥ 5×) | "
        f"{min(ratios):.1f}× to {max(ratios):.1f}× |"
    )
    lines.append(
        f"| refresh of an unchanged user, GraphQL path (0) | "
        f"{max(g['refresh'] for _, _, g in rows)} units at most |"
    )
    times = [q[2] for _, _, g in rows for q in g["queries"]]
    if times:
        slowest = max((q for _, _, g in rows for q in g["queries"]), key=lambda q: q[2])
        lines += [
            "",
            "| GraphQL queries (GraphQL path, all users) | value |",
            "|---|---:|",
            f"| queries | {len(times)} |",
            f"| response time, median s (warm simulator) | {statistics.median(times):.3f} |",
            f"| response time, slowest s (GitHub ends a query at 10 s) | {slowest[2]:.3f} |",
            f"| the slowest query's points / possible nodes | {slowest[0]} / {slowest[1]:,} |",
            f"| most possible nodes in one query (GitHub's cap 500,000) | "
            f"{max(q[1] for _, _, g in rows for q in g['queries']):,} |",
            f"| most points in one query | {max(q[0] for _, _, g in rows for q in g['queries'])} |",
        ]
    return "\n".join(lines)


def _write(table: str) -> None:
    from datetime import UTC, datetime

    from bench import report
    from bench.__main__ import machine

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    report.write_section(
        "budget",
        "\n".join(
            [
                "## budget",
                "",
                (__doc__ or "").strip().split("\n\n")[1].replace("\n", " "),
                "",
                f"`{COMMAND}` (or `make bench ARGS=budget`); {when}, {machine()}, one run. "
                "Response times are the simulator's (a local process), not GitHub's.",
                "",
                table,
            ]
        ),
    )


if __name__ == "__main__":
    raise SystemExit(main())
