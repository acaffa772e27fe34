"""Benchmark the user_activity step: its REST cost against per-commit listing, refreshes,
and GET /users/<u>/activity under wrk.

For the simulator's activity users (`act-500c-1`, `act-5000c-1`: about 500 and 5,000
commits by the user over 20 repos of 3-5 branches each), after their profile and repos
are fetched: the step's first run and a refresh of the unchanged user (wall time, REST
requests, bytes the simulator sent to git), and, in the same run on the same users,
the per-commit listing method (per branch, every page of the author-filtered commit list
with no `since`, then a blobless clone, the SHAs fetched at depth 1 in chunks of 64 and one
`git show --name-only` per SHA). Then the endpoint under wrk (gunicorn, 2 workers),
beside a plain Django view that returns the same stored JSON, in interleaved rounds.

Uses its own database (`gazer_bench_activity`) and Redis database (`--redis-db`,
default 12), never the development or test ones.

    .venv/bin/python bench/bench_activity.py [--users act-500c-1,act-5000c-1]
"""

from __future__ import annotations

import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.isolation import bench_main, bench_parser  # noqa: E402
from workers.testing import free_port  # noqa: E402 - after the path above

BENCH_DB = "gazer_bench_activity"
COMMAND = ".venv/bin/python bench/bench_activity.py"
REST_KINDS = ("user", "user_repos", "repo", "branches", "commits", "commit", "languages")


def _args(argv=None):
    parser = bench_parser(__doc__, redis_db=12)
    parser.add_argument("--users", default="act-500c-1,act-5000c-1")
    parser.add_argument("--wrk-seconds", type=int, default=4, help="seconds per wrk round")
    parser.add_argument("--wrk-rounds", type=int, default=7, help="interleaved rounds per view")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    return bench_main(script=__file__, argv=argv, parse=_args, child=_child, bench_db=BENCH_DB)


def _rest(stats: dict) -> int:
    return sum(stats["by_kind"].get(k, 0) for k in REST_KINDS)


def _measure(sim, fn) -> dict:
    before = sim.stats()
    started = time.monotonic()
    fn()
    seconds = time.monotonic() - started
    after = sim.stats()
    return {
        "seconds": seconds,
        "rest": _rest(after) - _rest(before),
        "not_modified": after["not_modified"] - before["not_modified"],
        "git_bytes": after["git_bytes"] - before["git_bytes"],
    }


def _commit_list_method(login: str, token: str) -> None:
    """Activity collected by listing every commit per branch, for its cost only."""
    from datetime import UTC, datetime, timedelta

    from repos.models import UserRepo
    from workers.github import github
    from workers.github.git import clone_repo, git_changed_files, git_fetch_shas

    gw = github()
    since = (datetime.now(UTC) - timedelta(days=730)).date()
    for link in UserRepo.objects.filter(user__login__iexact=login).select_related("repo"):
        full, default = link.repo.full_name, link.repo.default_branch
        branches = gw.paginate(f"/repos/{full}/branches", token=token, limit=10, cache=False)
        names = [default] + [b["name"] for b in branches if b["name"] != default]
        shas: set[str] = set()
        for name in names[:10]:
            params = {"author": login, "sha": name}
            for item in gw.paginate(f"/repos/{full}/commits", params, token=token, cache=False):
                shas.add(item["sha"])
        gw.get_json(f"/repos/{full}/languages", token=token, cache=False)
        with clone_repo(full, blobless=True, shallow_since=since, timeout=120) as path:
            git_fetch_shas(path, sorted(shas), depth=1, chunk=64)
            for sha in shas:
                git_changed_files(path, sha)


def _run_step(login: str, select: str) -> None:
    from django.core.management import call_command

    call_command("run", login, select=select, stdout=io.StringIO(), stderr=io.StringIO())


def _wrk(url: str, seconds: int) -> dict:
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        found = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)", out, re.M)
        if not found:
            return float("nan")
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return {"p50": ms("50"), "p99": ms("99"), "rps": float(rps.group(1)) if rps else 0.0}


def _serve_and_wrk(login: str, seconds: int, rounds: int) -> tuple[dict, dict]:
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.activity_urls_settings"}
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        import requests

        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/livez", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        api = requests.get(f"{base}/users/{login}/activity", timeout=10).json()
        plain = requests.get(f"{base}/bench-plain/{login}/activity", timeout=10).json()
        assert api == plain, "the plain view must return the same body"
        urls = {
            "api": f"{base}/users/{login}/activity",
            "plain": f"{base}/bench-plain/{login}/activity",
        }
        _wrk(urls["api"], 2)  # warm-up
        # Interleaved rounds, medians: the machine is shared, so one long run of each
        # would mostly measure whoever else was busy at the time.
        runs: dict[str, list[dict]] = {"api": [], "plain": []}
        for _ in range(rounds):
            for name, url in urls.items():
                runs[name].append(_wrk(url, seconds))
        return tuple(
            {key: statistics.median(r[key] for r in runs[name]) for key in ("p50", "p99", "rps")}
            for name in ("api", "plain")
        )
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _child(args) -> int:
    from ghsim.testing import SimulatorProcess

    sim = SimulatorProcess(seed=1, rate_limit=1_000_000, unauth_limit=1_000_000)
    sim.start()
    token_pool = f"bench-act-{uuid.uuid4().hex[:8]}"
    os.environ.update(sim.env())
    os.environ["GITHUB_TOKENS"] = token_pool
    os.environ["LLM_API_KEY"] = ""
    os.environ["GITHUB_REQUESTS_PER_HOUR"] = "1000000"
    import django

    django.setup()
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    from users.models import GitHubUser

    rows = []
    try:
        users = [u for u in args.users.split(",") if u]
        GitHubUser.objects.filter(login__in=users).delete()  # every run starts cold
        for login in users:
            _run_step(login, "fetch_profile,fetch_repos")
            first = _measure(sim, lambda login=login: _run_step(login, "user_activity"))
            refresh = _measure(sim, lambda login=login: _run_step(login, "user_activity"))
            listed = _measure(
                sim, lambda login=login: _commit_list_method(login, f"list-{uuid.uuid4().hex[:6]}")
            )
            from activity.models import UserActivity

            row = UserActivity.objects.get(user__login__iexact=login)
            rows.append((login, first, refresh, listed, row.coverage))
        api, plain = _serve_and_wrk(users[-1], args.wrk_seconds, args.wrk_rounds)
    finally:
        sim.stop()
        shutil.rmtree(Path(sim.options.get("data_dir") or "/nonexistent"), ignore_errors=True)
    table = _table(rows, api, plain)
    print(table)
    if not args.no_write:
        _write(table)
    return 0


def _table(rows, api: dict, plain: dict) -> str:
    lines = [
        "| user | commits counted | method | run | wall s | REST requests | of them 304 | "
        "git bytes |",
        "|---|---:|---|---|---:|---:|---:|---:|",
    ]
    for login, first, refresh, listed, coverage in rows:
        n = coverage["commits_counted"]
        for method, run, m in (
            ("Gazer", "first", first),
            ("Gazer", "refresh", refresh),
            ("commit listing", "first", listed),
        ):
            lines.append(
                f"| {login} | {n} | {method} | {run} | {m['seconds']:.1f} | {m['rest']} | "
                f"{m['not_modified']} | {m['git_bytes']:,} |"
            )
    big = rows[-1]
    small = rows[0]
    lines += [
        "",
        "| goal | measured |",
        "|---|---:|",
        f"| commit listing's REST requests ÷ Gazer's, {big[0]} (≥ 3×) | "
        f"{big[3]['rest'] / max(1, big[1]['rest']):.1f}× |",
        f"| Gazer's REST requests, {big[0]} ÷ {small[0]} (< 1.5×) | "
        f"{big[1]['rest'] / max(1, small[1]['rest']):.2f}× |",
        f"| refresh budget ÷ first run's (< 2 %), {big[0]}: requests that cost budget "
        f"(REST minus 304s) | "
        f"{(big[2]['rest'] - big[2]['not_modified']) / max(1, big[1]['rest']):.1%} |",
        "",
        "| GET /users/<u>/activity (wrk -t2 -c16, gunicorn -w 2; medians of interleaved "
        "rounds) | p50 ms | p99 ms | req/s |",
        "|---|---:|---:|---:|",
        f"| the API view | {api['p50']:.2f} | {api['p99']:.2f} | {api['rps']:.0f} |",
        f"| a plain Django view, same stored JSON | {plain['p50']:.2f} | {plain['p99']:.2f} | "
        f"{plain['rps']:.0f} |",
        f"| API ÷ plain (≥ 80 %) | | | {api['rps'] / max(1.0, plain['rps']):.0%} |",
    ]
    return "\n".join(lines)


def _write(table: str) -> None:
    from datetime import UTC, datetime

    from bench import report
    from bench.__main__ import machine

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    report.write_section(
        "activity",
        "\n".join(
            [
                "## activity",
                "",
                (__doc__ or "").strip().split("\n\n")[1].replace("\n", " "),
                "",
                f"`{COMMAND}` (or `make bench ARGS=activity`); {when}, {machine()}, one run.",
                "",
                table,
            ]
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
