"""Benchmark the web pages against the JSON endpoints that feed them, under wrk.

Simulated users are signed in and processed end to end by a real Celery worker (and
the LLM worker) against the GitHub simulator; their star histories are fetched and
the star-graph crawls their logins started are let finish, then the workers stop so
they take no CPU from the measurement. One gunicorn (the Procfile's `-w 2 --threads
4`) serves; each URL gets `wrk --latency` for a fixed time on the same connections, one
URL after the other, in one run: the profile page beside `/users/<u>/data` (and the
`/kindred` and `/star-history` reads it also makes), the progress fragment beside
`/users/<u>/progress`, the heatmap fragment beside `/users/<u>/activity` and For You
beside `/for-you/<u>` when those endpoints exist. Page weight is the HTML plus the CSS
and JS it links, raw and gzip-compressed, before images.

Uses its own database (`gazer_bench_pages`, created and migrated here) and Redis
database (`--redis-db`, default 11, flushed), never the development or test ones.

    .venv/bin/python bench/bench_pages.py [--users avery-lin,bram-okafor] [--seconds 5]
"""

from __future__ import annotations

import argparse
import gzip
import re
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.isolation import bench_main, bench_parser  # noqa: E402
from workers.testing import free_port  # noqa: E402 - after the path above

BENCH_DB = "gazer_bench_pages"
COMMAND = ".venv/bin/python bench/bench_pages.py"
GOAL_KB = 100
GOAL_RATIO = 2.0


def _args(argv=None):
    parser = bench_parser(__doc__, redis_db=11)
    parser.add_argument("--users", default="avery-lin,bram-okafor,chen-wei")
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per URL")
    parser.add_argument("--wrk-rounds", type=int, default=3, help="turns of each page and API")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=200, help="sequential rounds")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per pipeline run")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    return bench_main(script=__file__, argv=argv, parse=_args, child=_child, bench_db=BENCH_DB)


def _get(url: str, timeout: float = 30) -> tuple[int, bytes]:
    """(status, body); status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def _wait(predicate, *, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def _prepare(args, sim, env, settings) -> list[str]:
    """Sign the users in, let the workers finish their profiles and star graph."""
    from stargazers.models import StargazerCrawl
    from stargazers.services import star_history_refresh
    from users import services
    from users.models import PipelineRun
    from workers.testing import CeleryWorkerProcess

    workers = [
        CeleryWorkerProcess(env=env, concurrency=4).start(),
        CeleryWorkerProcess.llm(env=env, concurrency=8).start(),
    ]
    ready = []
    try:
        logins = [u.strip() for u in args.users.split(",") if u.strip()]
        runs = {
            login: services.user_login(login=login, github_token=f"sim_{login}_bench").run_id
            for login in logins
        }
        for login, run_id in runs.items():
            status = _wait(
                lambda run_id=run_id: (
                    PipelineRun.objects.filter(pk=run_id, status__in=["succeeded", "failed"])
                    .values_list("status", flat=True)
                    .first()
                ),
                timeout=args.timeout,
            )
            print(f"  {login}: pipeline {status}", flush=True)
            if status == "succeeded":
                ready.append(login)
        from repos.models import UserRepo

        for repo_id in UserRepo.objects.filter(highlight_rank__isnull=False).values_list(
            "repo_id", flat=True
        ):
            star_history_refresh(repo_id=repo_id)
        open_crawls = _wait(
            lambda: (
                not StargazerCrawl.objects.filter(status__in=["pending", "processing"]).exists()
            ),
            timeout=60,
            interval=1.0,
        )
        print(f"  star-graph crawls settled: {bool(open_crawls)}", flush=True)
    finally:
        for worker in workers:
            worker.stop()
    return ready


def _gunicorn(env: dict[str, str], port: int) -> subprocess.Popen:
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "config.wsgi",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        "2",
        "--threads",
        "4",
        "--timeout",
        "60",
    ]
    log = open(Path("/tmp") / f"gazer-bench-pages-gunicorn-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    if not _wait(lambda: _get(f"http://127.0.0.1:{port}/livez", timeout=2)[0] == 200, timeout=30):
        process.kill()
        raise RuntimeError(f"gunicorn did not answer /livez; see {log.name}")
    return process


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    found = re.match(r"([\d.]+)(us|ms|s)", text)
    return float(found.group(1)) * _UNITS[found.group(2)] if found else float("nan")


def _wrk(url: str, args) -> dict:
    out = subprocess.run(
        [
            "wrk",
            f"-t{args.threads}",
            f"-c{args.connections}",
            f"-d{args.seconds}s",
            "--timeout",
            "10s",
            "--latency",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=args.seconds + 60,
    ).stdout
    latency = dict(re.findall(r"^\s+(50|99)(?:\.000)?%\s+(\S+)", out, re.M))
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "p50": _ms(latency.get("50", "")),
        "p99": _ms(latency.get("99", "")),
        "rps": float(rps.group(1)) if rps else 0.0,
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def _weight(base: str, path: str) -> dict:
    """HTML plus the CSS and JS it links (each once), raw and gzip -6, before images."""
    status, html = _get(base + path)
    assets = re.findall(rb'<link rel="stylesheet" href="([^"]+)"|<script src="([^"]+)"', html)
    total_raw, total_gz = len(html), len(gzip.compress(html, 6))
    for css, js in assets:
        _, body = _get(base + (css or js).decode())
        total_raw += len(body)
        total_gz += len(gzip.compress(body, 6))
    return {"status": status, "html": len(html), "raw": total_raw, "gzip": total_gz}


def _child(args) -> int:
    import django

    django.setup()
    from django.conf import settings

    assert settings.DATABASES["default"]["NAME"] == BENCH_DB, "bench must use its own DB"
    import redis

    from ghsim.testing import SimulatorProcess

    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    sim = SimulatorProcess(seed=1)
    sim.start()
    gunicorn = None
    try:
        sim.configure(rate_limit=10**9, unauth_limit=10**9)
        pool = "bench-pages-pool"
        env = _point_at(sim, settings, pool=pool)
        print("processing users:", flush=True)
        ready = _prepare(args, sim, env, settings)
        if not ready:
            print("no user finished its pipeline")
            return 1
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=ROOT,
            env={**env, "PATH": "/usr/bin:/bin"},
            check=True,
        )
        port = free_port()
        gunicorn = _gunicorn(env, port)
        base = f"http://127.0.0.1:{port}"
        login = ready[0]
        rows, weights = _measure(base, login, args)
        heatmap_bytes = _heatmap_bytes(sim, login)
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=10)
        sim.stop()
    markdown = _report(rows, weights, login, args, heatmap_bytes)
    print(markdown)
    if not args.no_write:
        from bench.report import write_section

        write_section("pages", markdown)
    over_weight = [w for w in weights if w["status"] == 200 and w["raw"] > GOAL_KB * 1000]
    return 0 if not over_weight else 1


def _point_at(sim, settings, *, pool: str) -> dict[str, str]:
    """Point this process's settings at the simulator, and return the environment that
    points the subprocesses (workers, gunicorn) at it and at the bench database."""
    settings.GITHUB_API_URL = sim.api_url
    settings.GITHUB_WEB_URL = sim.web_url
    settings.GITHUB_TOKENS = [pool]
    settings.LLM_API_BASE = sim.llm_base
    settings.LLM_API_KEY = "bench-key"
    settings.MEDIA_FETCH_ALLOW_PRIVATE = True
    db = settings.DATABASES["default"]
    return {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": (
            f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:"
            f"{db.get('PORT') or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "GITHUB_API_URL": sim.api_url,
        "GITHUB_WEB_URL": sim.web_url,
        "GITHUB_TOKENS": pool,
        "LLM_API_BASE": sim.llm_base,
        "LLM_API_KEY": "bench-key",
        "OPENROUTER_API_KEY": "",
        "MEDIA_FETCH_ALLOW_PRIVATE": "true",
        "LOG_LEVEL": "WARNING",
        "DEBUG": "false",
    }


def _measure(base: str, login: str, args) -> tuple[list[dict], list[dict]]:
    from repos.models import UserRepo

    first = (
        UserRepo.objects.filter(user__login__iexact=login, highlight_rank=1)
        .select_related("repo")
        .first()
    )
    pairs = [
        ("profile", f"/u/{login}", f"/users/{login}/data"),
        ("progress fragment", f"/u/{login}/progress", f"/users/{login}/progress"),
        ("heatmap fragment", f"/u/{login}/heatmap?mode=languages", f"/users/{login}/activity"),
        ("For You", f"/u/{login}/for-you", f"/for-you/{login}"),
    ]
    extra = [("kindred (read by the profile)", None, f"/users/{login}/kindred?limit=12")]
    if first is not None:
        name = first.repo.full_name
        extra.append(("star history (per highlight)", None, f"/repos/{name}/star-history"))
    rows = []
    for label, page, api in pairs + extra:
        row = {"label": label, "page": page, "api": api}
        runs: dict[str, list[dict]] = {}
        targets = [(k, path) for k, path in (("page_result", page), ("api_result", api)) if path]
        for key, path in targets:
            status, _ = _get(base + path)
            row[key] = {"status": status}
            if status == 200:
                _wrk(base + path, argparse.Namespace(**{**vars(args), "seconds": 1}))  # warm
                runs[key] = []
        # The page and its endpoint take turns: a burst of load elsewhere on the machine
        # lands on one round of each, and each figure is the median round.
        for _ in range(args.wrk_rounds):
            for key, path in targets:
                if key in runs:
                    runs[key].append(_wrk(base + path, args))
        for key, found in runs.items():
            row[key] = {
                "status": 200,
                **{f: statistics.median(run[f] for run in found) for f in ("p50", "p99", "rps")},
            }
            print(f"  {label}: {key} {row[key]}", flush=True)
        rows.append(row)
    weights = []
    for label, page, _ in pairs:
        weights.append({"label": label, "path": page, **_weight(base, page)})
    highlights = UserRepo.objects.filter(
        user__login__iexact=login, highlight_rank__isnull=False
    ).select_related("repo")
    bundle = [f"/users/{login}/data", f"/users/{login}/progress"] + [
        f"/repos/{link.repo.full_name}/star-history" for link in highlights
    ]
    rows.append(_sequential(base, f"/u/{login}", bundle, args.rounds))
    return rows, weights


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _sequential(base: str, page: str, bundle: list[str], rounds: int) -> dict:
    """One client, no concurrency: the page against the JSON round trips a script would
    make to draw the same view (profile data, progress, each highlight's star history)."""
    page_ms, bundle_ms = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        _get(base + page)
        page_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        for path in bundle:
            _get(base + path)
        bundle_ms.append((time.perf_counter() - started) * 1000)
    print(
        f"  sequential: page {_percentile(page_ms, 0.5):.1f} ms, JSON bundle "
        f"{_percentile(bundle_ms, 0.5):.1f} ms ({len(bundle)} requests)",
        flush=True,
    )
    return {
        "label": f"profile, one client ({rounds} rounds)",
        "page": page,
        "api": f"{len(bundle)} JSON requests: data, progress, star history ×{len(bundle) - 2}",
        "page_result": {
            "status": 200,
            "p50": _percentile(page_ms, 0.5),
            "p99": _percentile(page_ms, 0.99),
            "rps": 1000 / (sum(page_ms) / len(page_ms)),
        },
        "api_result": {
            "status": 200,
            "p50": _percentile(bundle_ms, 0.5),
            "p99": _percentile(bundle_ms, 0.99),
            "rps": 1000 / (sum(bundle_ms) / len(bundle_ms)),
        },
    }


def _cell(result: dict | None, key: str, fmt: str) -> str:
    if not result:
        return "—"
    if result.get("status") != 200:
        return f"({result.get('status')})"
    return fmt.format(result[key])


def _code(text: str) -> str:
    return f"`{text}`" if text.startswith("/") else text


def _heatmap_bytes(sim, login: str) -> int:
    """The heatmap SVG of the user's true two years (the simulator's truth, in the activity
    document's shape), as the profile would draw it once the activity step has run."""
    from django.utils import timezone

    from web.heatmap import heatmap_render

    truth = sim.truth(f"users/{login}/active-days")
    document = {
        "version": 1,
        "window_years": 2,
        **{k: truth[k] for k in ("days", "repo_days", "language_days")},
    }
    drawn = heatmap_render(document, today=timezone.now().date())
    return len(drawn.svg.encode()) if drawn else 0


def _report(rows: list[dict], weights: list[dict], login: str, args, heatmap_bytes: int = 0) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "## pages",
        "",
        "Server render time of the web pages beside the JSON endpoints that feed them, "
        f"under `wrk -t{args.threads} -c{args.connections} -d{args.seconds}s --latency` "
        "against one gunicorn (`-w 2 --threads 4`), for the simulated user "
        f"`{login}` processed end to end. Goal: each page within {GOAL_RATIO:g}× its JSON "
        f"endpoint's latency and under {GOAL_KB} KB before images. Each page and its "
        f"endpoint take turns, {args.wrk_rounds} rounds; each figure is the median round. "
        "The profile also reads progress and each "
        "highlight's star history, so the last row times it, one request at a time, "
        "against the JSON round trips a script would make to draw the same view.",
        "",
        f"`{COMMAND}` (or `make bench ARGS=pages`); {when}.",
        "",
        "| what | page | p50 ms | p99 ms | req/s | JSON endpoint | p50 ms | p99 ms | req/s "
        "| p50 page/JSON | p99 page/JSON |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        page, api = row.get("page_result"), row.get("api_result")
        ratio50 = ratio = "—"
        if page and api and page.get("status") == 200 and api.get("status") == 200:
            ratio50 = f"{page['p50'] / api['p50']:.2f}×" if api["p50"] else "—"
            ratio = f"{page['p99'] / api['p99']:.2f}×" if api["p99"] else "—"
        lines.append(
            f"| {row['label']} | {'`' + row['page'] + '`' if row['page'] else '—'} "
            f"| {_cell(page, 'p50', '{:.1f}')} | {_cell(page, 'p99', '{:.1f}')} "
            f"| {_cell(page, 'rps', '{:.0f}')} | {_code(row['api'])} "
            f"| {_cell(api, 'p50', '{:.1f}')} | {_cell(api, 'p99', '{:.1f}')} "
            f"| {_cell(api, 'rps', '{:.0f}')} | {ratio50} | {ratio} |"
        )
    lines += [
        "",
        "| page weight | status | HTML bytes | HTML + CSS + JS | gzip -6 |",
        "|---|---:|---:|---:|---:|",
    ]
    for w in weights:
        lines.append(
            f"| `{w['path']}` | {w['status']} | {w['html']:,} | {w['raw']:,} | {w['gzip']:,} |"
        )
    if heatmap_bytes:
        lines += [
            "",
            f"The heatmap SVG alone, drawn by `web/heatmap.py` from the simulator's truth for "
            f"`{login}`'s two years, is {heatmap_bytes:,} bytes; the page draws the activity "
            "step's stored document (the heatmap fragment's row above).",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
