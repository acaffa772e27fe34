"""Benchmark the For You feed and the star affinity it ranks with.

One run, on a database of its own (`gazer_bench_feed`) and Redis database (`--redis-db`,
default 12):

  * a world of 10,000 candidate repos (2,000 authors × 5 highlights), 1,000 viewers with
    entries, judgments and exposures, and a star graph of about 1,000,000 edges (the
    viewers' starred lists plus stargazers, repo popularity Zipf-like);
  * star affinity: the old per-request `/kindred` aggregate against the
    precomputed row (compute time per account, read time per viewer);
  * stage 1 over 10,000 candidates per viewer, and the LLM calls of a cold and a warm
    rebuild (the simulator's LLM counts them);
  * HTTP under `wrk` against gunicorn (the Procfile's flags): `GET /for-you/<viewer>`,
    a plain Django view returning the same JSON (the ceiling), and `/users/<u>/kindred`;
    p50, p99, requests/s, and the web processes' peak memory.

    .venv/bin/python bench/bench_feed.py [--viewers 1000] [--candidates 10000]
        [--edges 1000000] [--seconds 5] [--rounds 3] [--connections 8] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.isolation import bench_main, bench_parser  # noqa: E402
from workers.testing import free_port  # noqa: E402 - after the path above

BENCH_DB = "gazer_bench_feed"
COMMAND = ".venv/bin/python bench/bench_feed.py"

LANGS = ["Python", "Rust", "Go", "TypeScript", "JavaScript", "C++", "Java", "Ruby", "Kotlin",
         "Swift", "C", "Haskell"]  # fmt: skip
KEYWORDS = [f"kw{i}" for i in range(60)]
EMPHASIS = [f"tech{i}" for i in range(30)]
KINDS = ["library", "cli tool", "web app", "framework", "game", "dataset", "plugin",
         "service", "compiler", "editor"]  # fmt: skip


def _args(argv=None):
    parser = bench_parser(__doc__, redis_db=12)
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=100, help="viewers hit over HTTP")
    parser.add_argument("--stage1-viewers", type=int, default=20, help="real stage-1 builds")
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per endpoint")
    parser.add_argument("--rounds", type=int, default=3, help="turns of every endpoint")
    parser.add_argument("--connections", type=int, default=8)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    return bench_main(script=__file__, argv=argv, parse=_args, child=_child, bench_db=BENCH_DB)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# --------------------------------------------------------------------------- world
def _world(args, rng: random.Random) -> dict:
    """Users, repos, highlights, a gallery image on some, and ~N star edges (COPY)."""
    from django.db import connection

    from repos.models import GalleryImage, Repo, UserRepo
    from users.models import GitHubUser

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE gazer_feed_entry, gazer_feed_exposure, gazer_feed_judgment, "
            "gazer_feed_rebuild, gazer_account_star_affinity, gazer_star_edge, "
            "gazer_user_repo, gazer_gallery_image, gazer_repo, gazer_github_user CASCADE"
        )
    authors_n = max(args.viewers, args.candidates // 5)
    authors = GitHubUser.objects.bulk_create(
        [
            GitHubUser(
                login=f"author-{i:05d}",
                github_id=10_000_000 + i,
                state="ghost" if i % 10 == 9 else "active",
                theme=f"{LANGS[i % len(LANGS)]} {KEYWORDS[i % 60]} tooling",
            )
            for i in range(authors_n)
        ],
        batch_size=2000,
    )
    repos = _candidate_repos(args, rng, authors)
    others = [
        Repo(
            github_id=30_000_000 + i,
            full_name=f"pool-{i % 500:03d}/popular-{i:05d}",
            owner_login=f"pool-{i % 500:03d}",
            name=f"popular-{i:05d}",
            language=LANGS[i % len(LANGS)],
            stargazers_count=int(60000 / (1 + i / 50)),
        )
        for i in range(args.candidates)
    ]
    Repo.objects.bulk_create(repos + others, batch_size=2000)
    links = [
        UserRepo(
            user_id=authors[i % authors_n].pk,
            repo_id=repo.pk,
            include_reason="owned",
            commit_days=10,
            highlight_rank=i // authors_n + 1,
        )
        for i, repo in enumerate(repos)
    ]
    UserRepo.objects.bulk_create(links, batch_size=5000)
    GalleryImage.objects.bulk_create(
        [
            GalleryImage(repo_id=repo.pk, url=f"https://img.example/{repo.pk}.png", alt="shot",
                         width=800, height=600, taken_at=1_700_000_000_000)
            for repo in repos[::3]
        ],
        batch_size=5000,
    )  # fmt: skip
    viewers = authors[: args.viewers]
    GitHubUser.objects.filter(pk__in=[v.pk for v in viewers]).update(state="active")
    edges = _edges(args, rng, viewers, [r.pk for r in repos + others])
    return {"viewers": viewers, "repos": repos, "edges": edges, "authors": authors}


def _candidate_repos(args, rng: random.Random, authors: list) -> list:
    """The highlighted repos (unsaved): each author has a taste (a language, a keyword
    cluster), and some repos stray from it."""
    from repos.models import Repo

    authors_n = len(authors)
    repos = []
    for i in range(args.candidates):
        taste = i % authors_n
        author = authors[taste]
        stray = rng.random() < 0.3
        lang = LANGS[(taste + i // authors_n) % len(LANGS)] if stray else LANGS[taste % len(LANGS)]
        repos.append(
            Repo(
                github_id=20_000_000 + i,
                full_name=f"{author.login}/proj-{i:05d}",
                owner_login=author.login,
                name=f"proj-{i:05d}",
                description=f"A {lang} project about {KEYWORDS[(taste + i) % 60]}",
                blurb=f"proj-{i:05d} is a {lang} {KINDS[i % 10]} for {KEYWORDS[taste % 60]}.",
                language=lang,
                keywords=rng.sample(KEYWORDS[(taste % 20) * 3 : (taste % 20) * 3 + 6], 2),
                emphasis=rng.sample(EMPHASIS, 2),
                kind=KINDS[(taste + i) % 10],
                stargazers_count=int(40000 / (1 + rng.random() * 400)),
                pushed_at=_days_ago(rng.uniform(1, 700)),
            )
        )
    return repos


def _days_ago(days: float):
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() - timedelta(days=days)


def _zipf_picker(rng: random.Random, items: list[int], s: float = 0.9):
    weights = [1 / (rank + 1) ** s for rank in range(len(items))]
    order = items[:]
    rng.shuffle(order)
    cum = []
    total = 0.0
    for w in weights:
        total += w
        cum.append(total)
    import bisect

    def pick(k: int) -> set[int]:
        out: set[int] = set()
        while len(out) < k:
            out.add(order[bisect.bisect_left(cum, rng.random() * total)])
        return out

    return pick


def _edges(args, rng, viewers, repo_ids: list[int]) -> int:
    """The viewers' starred lists (300 each) and stargazers (~6 stars each), via COPY."""
    from django.db import connection

    pick = _zipf_picker(rng, repo_ids)
    per_viewer = 300
    stargazer_edges = max(args.edges - per_viewer * len(viewers), 0)
    stargazers_n = stargazer_edges // 6
    lines = [
        f"{i}\tsg-{i:07d}\t{40_000_000 + i}\tdiscovered\t\t\t\t\t\t\t\t\t\tnow\tnow\n"
        for i in range(stargazers_n)
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM gazer_github_user")
        base = cursor.fetchone()[0] + 1
        text = "".join(
            f"{base + int(line.split(chr(9))[0])}\t" + line.split("\t", 1)[1] for line in lines
        )
        with cursor.copy(
            "COPY gazer_github_user (id, login, github_id, state, name, avatar_url, html_url, "
            "bio, company, location, blog, theme, token_encrypted, created_at, updated_at) "
            "FROM STDIN"
        ) as copy:
            copy.write(text)
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('gazer_github_user', 'id'), "
            "(SELECT max(id) FROM gazer_github_user))"
        )
        rows = []
        for viewer in viewers:
            rows.extend(f"{r}\t{viewer.pk}\tstarred\n" for r in pick(per_viewer))
        for i in range(stargazers_n):
            rows.extend(f"{r}\t{base + i}\tstargazers\n" for r in pick(rng.randint(3, 9)))
        sql = "COPY gazer_star_edge (repo_id, user_id, source, created_at) FROM STDIN"
        with cursor.copy(sql) as copy:
            now = "2026-11-01 00:00:00+00"
            buf = [row[:-1] + f"\t{now}\n" for row in rows]
            for offset in range(0, len(buf), 50_000):
                copy.write("".join(buf[offset : offset + 50_000]))
        cursor.execute("ANALYZE gazer_star_edge")
        cursor.execute("ANALYZE gazer_github_user")
        cursor.execute("ANALYZE gazer_repo")
        cursor.execute("ANALYZE gazer_user_repo")
    return len(rows)


# ------------------------------------------------------------------------- measure
def _old_kindred_ms(user_ids: list[int]) -> list[float]:
    """The aggregate /kindred ran per request before: edges of the user's starred repos."""
    from django.db.models import Count, Subquery

    from stargazers.models import StarEdge

    out = []
    for uid in user_ids:
        started = time.perf_counter()
        mine = StarEdge.objects.filter(user_id=uid).values("repo_id")
        list(
            StarEdge.objects.filter(repo_id__in=Subquery(mine))
            .exclude(user_id=uid)
            .values("user_id", "user__login", "user__state", "user__avatar_url")
            .annotate(common=Count("repo_id"))
            .order_by("-common", "user__login")[:20]
        )
        out.append((time.perf_counter() - started) * 1000)
    return out


def _timed(fn, items) -> list[float]:
    out = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - started) * 1000)
    return out


def _synthetic_entries(viewer_ids: list[int]) -> None:
    """Entries, judgments and exposures for viewers without a real build (in SQL)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO gazer_feed_entry (viewer_id, repo_id, author_id, score, reasons,
                                          include, judged_by)
            SELECT v, c.repo_id, c.user_id, round((3 * random())::numeric, 6),
                   '["keywords", "language", "starred_by_kindred"]'::jsonb,
                   CASE WHEN c.rn <= 200 THEN random() < 0.67 END,
                   CASE WHEN c.rn <= 200 THEN 'llm' ELSE '' END
            FROM unnest(%s::bigint[]) AS v
            CROSS JOIN LATERAL (
                SELECT l.repo_id, l.user_id, row_number() OVER () AS rn
                FROM gazer_user_repo l
                WHERE l.highlight_rank IS NOT NULL AND l.user_id <> v
                  AND (l.repo_id * 7919 + v * 104729) %% 33 = 0
                LIMIT 300
            ) c
            """,
            [viewer_ids],
        )
        cursor.execute(
            """
            INSERT INTO gazer_feed_judgment (viewer_id, repo_id, include, viewer_fingerprint,
                                             candidate_fingerprint, model, judged_at)
            SELECT viewer_id, repo_id, include, 'v', 'c', 'bench', now()
            FROM gazer_feed_entry WHERE viewer_id = ANY(%s) AND include IS NOT NULL
            ON CONFLICT DO NOTHING
            """,
            [viewer_ids],
        )
        cursor.execute(
            """
            INSERT INTO gazer_feed_exposure (viewer_id, repo_id, times_shown, last_shown_at)
            SELECT viewer_id, repo_id, 1 + (random() * 9)::int,
                   now() - random() * interval '7 days'
            FROM gazer_feed_entry WHERE viewer_id = ANY(%s) AND random() < 0.3
            ON CONFLICT DO NOTHING
            """,
            [viewer_ids],
        )
        cursor.execute(
            """
            INSERT INTO gazer_feed_rebuild (viewer_id, status, trigger, candidates_seen, builds,
                                            stats, error)
            SELECT v, 'succeeded', 'bench',
                   (SELECT count(*) FROM gazer_user_repo WHERE highlight_rank IS NOT NULL), 1,
                   '{}'::jsonb, ''
            FROM unnest(%s::bigint[]) AS v
            ON CONFLICT (viewer_id) DO UPDATE SET candidates_seen = EXCLUDED.candidates_seen
            """,
            [viewer_ids],
        )
        for table in ("gazer_feed_entry", "gazer_feed_judgment", "gazer_feed_exposure"):
            cursor.execute(f"ANALYZE {table}")


def _rebuild_llm_calls(viewer) -> dict:
    """Cold and warm rebuilds of one viewer over every candidate, LLM calls counted by
    the simulator's OpenAI-compatible endpoint (called in this process)."""
    from django.conf import settings

    from feed import services
    from feed.models import FeedJudgment
    from ghsim.testing import SimulatorProcess
    from workers.llm import inline_calls

    with SimulatorProcess(seed=1) as sim:
        settings.LLM_API_BASE = sim.llm_base
        settings.LLM_API_KEY = "bench-key"
        FeedJudgment.objects.filter(viewer=viewer).delete()
        out = {}
        for label in ("cold", "warm"):
            before = sim.stats()["llm_calls"].get("feed_judgments", 0)
            services.feed_rebuild_request(viewer=viewer, trigger="bench")
            started = time.perf_counter()
            with inline_calls():
                stats = services.feed_rebuild_run(viewer_id=viewer.pk)
            seconds = time.perf_counter() - started
            calls = sim.stats()["llm_calls"].get("feed_judgments", 0) - before
            items = sim.stats()["llm_items"].get("feed_judgments", [])[-calls:] if calls else []
            out[label] = {"calls": calls, "items": items, "seconds": seconds, "stats": stats}
    return out


# ---------------------------------------------------------------------------- HTTP


def _gunicorn(env: dict[str, str], port: int) -> subprocess.Popen:
    command = [
        str(ROOT / ".venv/bin/gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}",
        "-w", "2", "--threads", "4", "--timeout", "60",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def _tree_peak_mib(pid: int) -> float:
    """Peak resident memory (VmHWM) of gunicorn's master and workers, summed."""
    import psutil

    total = 0
    try:
        procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    for proc in procs:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except OSError:
            continue
        found = re.search(r"VmHWM:\s+(\d+) kB", status)
        total += int(found.group(1)) if found else 0
    return total / 1024


def _cpu_seconds(server_pid: int | None) -> dict[str, float]:
    """CPU time used so far by the web processes, by every Postgres process, and by this
    process's finished children (wrk): where a request's cost goes."""
    import psutil

    def used(proc) -> float:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            return 0.0
        return times.user + times.system

    web = 0.0
    if server_pid is not None:
        server = psutil.Process(server_pid)
        web = sum(used(proc) for proc in (server, *server.children(recursive=True)))
    db = sum(
        used(proc) for proc in psutil.process_iter(["name"]) if proc.info["name"] == "postgres"
    )
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"web": web, "db": db, "wrk": children.ru_utime + children.ru_stime}


def _wrk(port: int, paths: list[str], args, server_pid: int | None = None) -> dict:
    before = _cpu_seconds(server_pid)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            "local paths = {" + ",".join(json.dumps(p) for p in paths) + "}\n"
            "math.randomseed(7)\n"
            "request = function()\n"
            "  return wrk.format('GET', paths[math.random(#paths)])\n"
            "end\n"
        )
    command = [
        "wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "--latency",
        "-s", script.name, f"http://127.0.0.1:{port}",
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)

    def latency(label: str) -> float:
        found = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not found:
            return float("nan")
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1)) or 1
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    after = _cpu_seconds(server_pid)
    return {
        "p50": latency("50"),
        "p99": latency("99"),
        "rps": rps,
        "errors": int(non2xx.group(1)) if non2xx else 0,
        # CPU milliseconds per request, by where they were spent.
        **{f"cpu_{k}": (after[k] - before[k]) * 1000 / requests for k in after},
    }


def _median_run(runs: list[dict]) -> dict:
    """Each figure's median over the rounds (non-2xx summed)."""
    keys = [key for key in runs[0] if key != "errors"]
    out = {key: statistics.median(run[key] for run in runs) for key in keys}
    return {**out, "errors": sum(run["errors"] for run in runs)}


# --------------------------------------------------------------------------- child
def _child(args) -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from feed import selectors, services
    from feed.models import FeedEntry, FeedExposure, FeedJudgment
    from stargazers.services import (
        kindred_get_or_compute,
        star_affinity_compute,
        star_affinity_get_or_compute,
    )

    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk)")
        return 1
    rng = random.Random(13)
    started = time.monotonic()
    world = _world(args, rng)
    viewers = world["viewers"]
    print(f"world: {len(world['repos'])} candidates, {len(viewers)} viewers, "
          f"{world['edges']:,} edges in {time.monotonic() - started:.0f}s", flush=True)  # fmt: skip
    sample = viewers[: args.sample]
    sample_ids = [v.pk for v in sample]

    old_ms = _old_kindred_ms(sample_ids[:20])
    print(f"old /kindred aggregate: p50 {_pct(old_ms, 50):.0f} ms, p99 {_pct(old_ms, 99):.0f} ms",
          flush=True)  # fmt: skip
    compute_ms = _timed(lambda uid: star_affinity_compute(user_id=uid), sample_ids)
    print(f"star affinity compute: p50 {_pct(compute_ms, 50):.0f} ms, "
          f"p99 {_pct(compute_ms, 99):.0f} ms",
          flush=True)  # fmt: skip
    read_ms = _timed(lambda uid: star_affinity_get_or_compute(user_id=uid), sample_ids)
    print(f"star affinity read: p50 {_pct(read_ms, 50):.1f} ms, p99 {_pct(read_ms, 99):.1f} ms",
          flush=True)  # fmt: skip

    real = viewers[: args.stage1_viewers]
    stage1_ms = _timed(lambda v: services.feed_stage1_store(viewer=v), real)
    print(f"stage 1 over {len(world['repos'])} candidates: p50 {_pct(stage1_ms, 50):.0f} ms",
          flush=True)  # fmt: skip
    _synthetic_entries([v.pk for v in viewers[args.stage1_viewers :]])
    calls = _rebuild_llm_calls(viewers[0])
    print(f"rebuild LLM calls: cold {calls['cold']['calls']} ({calls['cold']['items']}), "
          f"warm {calls['warm']['calls']}", flush=True)  # fmt: skip
    # In process, no HTTP: one viewer's page (ranking + exposures) and one /kindred read.
    serve_ms = _timed(lambda v: services.feed_serve(viewer=v, limit=30), sample)
    kindred_ms = _timed(lambda v: kindred_get_or_compute(login=v.login, limit=20), sample)
    print(f"in process: serve p50 {_pct(serve_ms, 50):.1f} ms, kindred p50 "
          f"{_pct(kindred_ms, 50):.1f} ms", flush=True)  # fmt: skip
    entries = FeedEntry.objects.count()
    judgments = FeedJudgment.objects.count()
    exposures = FeedExposure.objects.count()

    # The plain view's payloads: exactly what GET would serve for each sampled viewer.
    payloads = {}
    for viewer in sample:
        items = selectors.page_fetch(viewer=viewer, limit=30)
        payloads[viewer.login] = {"ok": True, "username": viewer.login, "count": len(items),
                                  "repos": items}  # fmt: skip
    payload_file = Path(tempfile.gettempdir()) / f"gazer-bench-feed-{os.getpid()}.json"
    payload_file.write_text(json.dumps(payloads))
    connection.close()

    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.feed_settings",
        "GAZER_BENCH_FEED_PAYLOADS": str(payload_file),
        "LOG_LEVEL": "WARNING",
        "DEBUG": "false",
    }
    rounds: dict[str, list[dict]] = {}
    peak = 0.0
    server = _gunicorn(env, port)
    try:
        # Warm both workers' imports and connections first (unmeasured).
        warm = [f"/bench/plain/{v.login}" for v in sample[:20]]
        _wrk(port, warm, argparse.Namespace(connections=4, seconds=2))
        paths = {
            "plain": [f"/bench/plain/{v.login}" for v in sample],
            "serve": [f"/bench/serve/{v.login}" for v in sample],
            "for_you": [f"/for-you/{v.login}?limit=30" for v in sample],
            "kindred": [f"/users/{v.login}/kindred?limit=20" for v in sample],
        }
        # Throughput at --connections, then latency at 2 connections (one per core:
        # closed-loop latency at 8 is mostly queueing behind the other 7). The endpoints
        # take turns, --rounds times, so a burst of load elsewhere on the machine lands on
        # one round of each rather than on one endpoint.
        low = argparse.Namespace(connections=2, seconds=args.seconds)
        for number in range(1, args.rounds + 1):
            for name in ("plain", "serve", "for_you", "kindred"):
                rounds.setdefault(name, []).append(_wrk(port, paths[name], args, server.pid))
                print(f"round {number} {name}: {rounds[name][-1]}", flush=True)
            for name in ("plain", "for_you", "kindred"):
                rounds.setdefault(f"{name}_c2", []).append(_wrk(port, paths[name], low))
                print(f"round {number} {name} at 2: {rounds[name + '_c2'][-1]}", flush=True)
        results = {name: _median_run(runs) for name, runs in rounds.items()}
        peak = _tree_peak_mib(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        payload_file.unlink(missing_ok=True)
    served = FeedExposure.objects.count()
    markdown = _report(args, world, locals())
    print(markdown)
    if not args.no_write:
        from bench.report import write_section

        write_section("feed", markdown)
    del settings
    return 0


def _report(args, world, m) -> str:
    from datetime import UTC, datetime

    from bench.__main__ import machine

    r = m["results"]
    # The same round's plain view is the baseline: one ratio per round, then the median.
    per_round = [
        mine["rps"] / plain["rps"] if plain["rps"] else 0.0
        for mine, plain in zip(m["rounds"]["for_you"], m["rounds"]["plain"], strict=True)
    ]
    ratio = statistics.median(per_round)
    cold, warm = m["calls"]["cold"], m["calls"]["warm"]
    top_n, batch = _settings_pair()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "## For You feed and star affinity",
        "",
        f"`{COMMAND}` (or `make bench ARGS=feed`); {when}, {machine()}. "
        f"{len(world['repos']):,} candidate repos by {len(world['authors']):,} authors, "
        f"{len(world['viewers']):,} viewers ({m['entries']:,} entries, {m['judgments']:,} "
        f"judgments, {m['exposures']:,} exposures before the run), {world['edges']:,} star "
        f"edges. HTTP: gunicorn `-w 2 --threads 4`, `wrk -t2 -c{args.connections} "
        f"-d{args.seconds}s` over {args.sample} viewers chosen at random per request; the "
        f"endpoints take turns, {args.rounds} rounds, and each figure is the median round.",
        "",
        "| endpoint | p50 ms | p99 ms | requests/s | non-2xx |",
        "|---|---:|---:|---:|---:|",
    ]
    labels = {
        "plain": "plain Django view, same JSON from memory (ceiling)",
        "serve": "plain Django view calling `feed_serve` (no DRF)",
        "for_you": "`GET /for-you/<viewer>?limit=30` (ranks, records 30 exposures)",
        "kindred": "`GET /users/<u>/kindred?limit=20`",
    }
    for name in ("plain", "serve", "for_you", "kindred"):
        row = r[name]
        lines.append(
            f"| {labels[name]} | {row['p50']:.1f} | {row['p99']:.1f} | {row['rps']:,.0f} | "
            f"{row['errors']} |"
        )
    lines += ["", "The same at 2 connections (latency rather than queueing):", ""]
    lines += ["| endpoint | p50 ms | p99 ms | requests/s | non-2xx |", "|---|---:|---:|---:|---:|"]
    for name in ("plain", "for_you", "kindred"):
        row = r[f"{name}_c2"]
        lines.append(
            f"| {labels[name]} | {row['p50']:.1f} | {row['p99']:.1f} | {row['rps']:,.0f} | "
            f"{row['errors']} |"
        )
    lines += [
        "",
        f"CPU per request at {args.connections} connections, in milliseconds (median round; "
        "the web processes, every Postgres process, wrk): where the ratio's ceiling comes "
        "from on 2 cores.",
        "",
        "| endpoint | web | Postgres | wrk | total |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in ("plain", "serve", "for_you", "kindred"):
        row = r[name]
        total = row["cpu_web"] + row["cpu_db"] + row["cpu_wrk"]
        lines.append(
            f"| {labels[name]} | {row['cpu_web']:.2f} | {row['cpu_db']:.2f} | "
            f"{row['cpu_wrk']:.2f} | {total:.2f} |"
        )
    lines += [
        "",
        f"`GET /for-you` served {ratio:.0%} of the plain view's requests/s (median of the "
        f"rounds: {', '.join(f'{x:.0%}' for x in per_round)}; goal ≥ 60 %) and "
        f"{r['for_you']['rps'] / r['serve']['rps']:.0%} of the view calling the same service "
        f"without DRF; p99 {r['for_you']['p99']:.1f} ms at {args.connections} connections, "
        f"{r['for_you_c2']['p99']:.1f} ms at 2 (goal < 50 ms); `/kindred` p99 "
        f"{r['kindred']['p99']:.1f} / {r['kindred_c2']['p99']:.1f} ms (goal < 100 ms). "
        f"Load average when the run ended: {os.getloadavg()[0]:.1f} (the machine is shared). "
        "Peak memory of the web processes "
        f"(master + 2 workers, VmHWM summed) during the run: {m['peak']:.0f} MiB. "
        f"Exposure rows after the run: {m['served']:,}.",
        "",
        "| star graph / stage 1 | p50 ms | p99 ms |",
        "|---|---:|---:|",
        f"| old per-request `/kindred` aggregate (20 viewers) | {_pct(m['old_ms'], 50):.0f} | "
        f"{_pct(m['old_ms'], 99):.0f} |",
        f"| precompute one account's star affinity (background, {len(m['compute_ms'])} accounts) | "
        f"{_pct(m['compute_ms'], 50):.0f} | {_pct(m['compute_ms'], 99):.0f} |",
        f"| read one viewer's star affinity (what stage 1 uses) | {_pct(m['read_ms'], 50):.1f} | "
        f"{_pct(m['read_ms'], 99):.1f} |",
        f"| stage 1 over every candidate, stored ({len(m['stage1_ms'])} viewers) | "
        f"{_pct(m['stage1_ms'], 50):.0f} | {_pct(m['stage1_ms'], 99):.0f} |",
        f"| `feed_serve` in process, no HTTP (ranking + 30 exposures; {args.sample} viewers) | "
        f"{_pct(m['serve_ms'], 50):.1f} | {_pct(m['serve_ms'], 99):.1f} |",
        f"| `/kindred` selector in process, no HTTP ({args.sample} viewers) | "
        f"{_pct(m['kindred_ms'], 50):.1f} | {_pct(m['kindred_ms'], 99):.1f} |",
        "",
        f"LLM calls of a rebuild over {len(world['repos']):,} candidates (top {top_n}, "
        f"batches of {batch}; bound {-(-top_n // batch)}): cold {cold['calls']} "
        f"(items per prompt {cold['items']}, {cold['seconds']:.1f} s with the simulator's LLM), "
        f"warm {warm['calls']} ({warm['seconds']:.1f} s). "
        f"{args.stage1_viewers} viewers have real stage-1 builds; the others' entries, "
        "judgments and exposures are generated in SQL with the same shape.",
    ]
    return "\n".join(lines)


def _settings_pair() -> tuple[int, int]:
    from django.conf import settings

    return settings.FEED_JUDGE_TOP_N, settings.FEED_JUDGE_BATCH_SIZE


if __name__ == "__main__":
    sys.exit(main())
