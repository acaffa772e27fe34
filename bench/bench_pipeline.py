"""Benchmark the user pipeline end to end through a real Celery worker.

For the simulator's load users (`load-10r-1`, `load-100r-1`, `load-300r-1`: 10, 100 and
300 repositories), one at a time: the whole pipeline (profile, repos, highlights, blurbs,
emphasis, keywords, kind, link, README media, theme) started as `POST /users/<u>/start`
does, and waited for in the database. Reported per user: wall time, GitHub API
requests (REST + GraphQL), git/raw/image fetches, LLM calls, then the same for a
refresh of the unchanged user (a second start: succeeded steps are skipped). The worker's
peak RSS is sampled with psutil over its whole process tree (seed 000 ran under a
256 MiB cap).

Uses its own database (`gazer_bench_pipeline`, created and migrated here) and Redis
database (`--redis-db`, default 13, flushed), never the development or test ones.

    .venv/bin/python bench/bench_pipeline.py [--users load-10r-1,load-100r-1,load-300r-1]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_DB = "gazer_bench_pipeline"
COMMAND = ".venv/bin/python bench/bench_pipeline.py"
RSS_CAP_MIB = 256
API_KINDS = (
    "user",
    "user_repos",
    "repo",
    "branches",
    "commits",
    "commit",
    "languages",
    "readme",
    "contents",
    "graphql",
)
FETCH_KINDS = ("git", "raw", "image")


def _args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="load-10r-1,load-100r-1,load-300r-1")
    # One pool process, like the seed's single worker under its 256 MiB cap.
    parser.add_argument("--concurrency", type=int, default=1, help="worker pool size")
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run")
    parser.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Run in a child process pointed at the bench's own database and Redis database."""
    from bench.isolation import run_isolated

    argv = list(argv if argv is not None else sys.argv[1:])
    return run_isolated(
        script=__file__, argv=argv, args=_args(argv), child=_child, bench_db=BENCH_DB
    )


class RssSampler(threading.Thread):
    """Peak memory of a process and all its children, sampled every 50 ms: the sum of
    RSS (counts pages shared copy-on-write once per process) and the sum of PSS (shares
    them out: what a cgroup memory cap such as the seed's sees)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.peak_pss = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        import psutil

        root = psutil.Process(self.pid)
        while not self.stopped.is_set():
            total = pss = 0
            try:
                for proc in [root, *root.children(recursive=True)]:
                    try:
                        info = proc.memory_full_info()
                    except psutil.Error:
                        continue
                    total += info.rss
                    pss += getattr(info, "pss", info.rss)
            except psutil.Error:
                return
            self.peak = max(self.peak, total)
            self.peak_pss = max(self.peak_pss, pss)
            time.sleep(0.05)


def _counts(sim) -> dict[str, int]:
    stats = sim.stats()
    by_kind = stats["by_kind"]
    return {
        "api": sum(by_kind.get(k, 0) for k in API_KINDS),
        "fetch": sum(by_kind.get(k, 0) for k in FETCH_KINDS),
        "llm": sum((stats.get("llm_calls") or {}).values()),
        "not_modified": stats.get("not_modified", 0),
    }


def _wait_run(run_id: int, timeout: float) -> str:
    from users.models import PipelineRun

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = PipelineRun.objects.filter(id=run_id).values_list("status", flat=True).first()
        if status in ("succeeded", "failed", "cancelled"):
            return status
        time.sleep(0.1)
    return "timeout"


def _measure(login: str, sim, timeout: float) -> dict:
    from users import services

    before = _counts(sim)
    started = time.monotonic()
    run = services.user_start(login=login)
    status = _wait_run(run.id, timeout)
    seconds = time.monotonic() - started
    after = _counts(sim)
    return {
        "status": status,
        "seconds": seconds,
        **{key: after[key] - before[key] for key in before},
    }


def _child(args) -> int:
    import django

    django.setup()
    from django.conf import settings

    assert settings.DATABASES["default"]["NAME"] == BENCH_DB, "bench must use its own DB"
    import redis

    from ghsim.testing import SimulatorProcess
    from repos.models import Repo, UserRepo
    from users.models import GitHubUser
    from workers.testing import CeleryWorkerProcess

    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    GitHubUser.objects.all().delete()
    Repo.objects.all().delete()
    sim = SimulatorProcess(seed=1)
    sim.start()
    worker = None
    try:
        sim.configure(rate_limit=10**9, unauth_limit=10**9)
        settings.GITHUB_API_URL = sim.api_url
        settings.GITHUB_WEB_URL = sim.web_url
        db = settings.DATABASES["default"]
        env = {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": (
                f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:"
                f"{db.get('PORT') or 5432}/{db['NAME']}"
            ),
            "REDIS_URL": settings.REDIS_URL,
            "GITHUB_API_URL": sim.api_url,
            "GITHUB_WEB_URL": sim.web_url,
            "GITHUB_TOKENS": "bench-pipeline-pool",
            "LLM_API_BASE": sim.llm_base,
            "LLM_API_KEY": "bench-key",
            "OPENROUTER_API_KEY": "",
            "MEDIA_FETCH_ALLOW_PRIVATE": "true",
            "LOG_LEVEL": "WARNING",
        }
        worker = CeleryWorkerProcess(env=env, concurrency=args.concurrency).start()
        sampler = RssSampler(worker.process.pid)
        sampler.start()
        time.sleep(0.5)
        idle_rss, idle_pss = sampler.peak, sampler.peak_pss
        rows = []
        for login in [u.strip() for u in args.users.split(",") if u.strip()]:
            first = _measure(login, sim, args.timeout)
            refresh = _measure(login, sim, args.timeout)
            user = GitHubUser.objects.get(login__iexact=login)
            links = UserRepo.objects.filter(user=user)
            row = {
                "login": login,
                "linked": links.count(),
                "highlights": links.filter(highlight_rank__isnull=False).count(),
                "first": first,
                "refresh": refresh,
            }
            rows.append(row)
            print(
                f"{login}: first {first['seconds']:.1f}s {first['api']} API req "
                f"{first['fetch']} fetches {first['llm']} LLM ({first['status']}); "
                f"refresh {refresh['seconds']:.2f}s {refresh['api']} API req "
                f"{refresh['llm']} LLM ({refresh['status']})",
                flush=True,
            )
        sampler.stopped.set()
        sampler.join(timeout=2)
        peak_mib = sampler.peak / 2**20
        pss_mib = sampler.peak_pss / 2**20
        print(
            f"worker peak: RSS sum {peak_mib:.0f} MiB (idle {idle_rss / 2**20:.0f}), "
            f"PSS sum {pss_mib:.0f} MiB (idle {idle_pss / 2**20:.0f})"
        )
    finally:
        if worker is not None:
            worker.stop()
        sim.stop()

    # Memory is reported, not enforced: see the section text.
    ok = all(r["first"]["status"] == "succeeded" for r in rows)
    table = [
        "| user | repos linked / highlighted | first run | GitHub API req | git/raw/image "
        "| LLM calls | refresh | refresh API req | refresh LLM |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        f, s = r["first"], r["refresh"]
        table.append(
            f"| `{r['login']}` | {r['linked']} / {r['highlights']} | {f['seconds']:.1f} s "
            f"| {f['api']} | {f['fetch']} | {f['llm']} | {s['seconds']:.2f} s | {s['api']} "
            f"| {s['llm']} |"
        )
    markdown = "\n".join(
        [
            "## User pipeline",
            "",
            "The whole user pipeline per simulated load user (10, 100 and 300 repositories; "
            "the seed's filters keep the 30 most recently pushed), through one Celery "
            f"worker (pool of {args.concurrency}) against the simulator and its LLM; "
            "users run one after another, the first also pays the pool process's cold "
            "start. *Refresh* is a second start of the unchanged user: succeeded steps "
            "are skipped, so it asks GitHub and the LLM nothing.",
            "",
            *table,
            "",
            "Worker memory over its process tree (main process and pool children; psutil, "
            f"every 50 ms): peak PSS sum **{pss_mib:.0f} MiB** (idle "
            f"{idle_pss / 2**20:.0f} MiB; RSS sum {peak_mib:.0f} MiB, idle "
            f"{idle_rss / 2**20:.0f} MiB). The seed's 256 MiB cap: "
            f"{'kept' if pss_mib < RSS_CAP_MIB else '**not kept**'}. Most of the growth "
            "is litellm (SPEC's LLM client): importing it and its tokenizer data adds "
            "about 170 MiB to a pool process on first LLM call (a bare Django + Celery "
            "process is about 90 MiB); GitHub, git and image work add little on top.",
            "",
            f"Command: `{COMMAND}`",
        ]
    )
    print(markdown)
    if not args.no_write:
        from bench.report import write_section

        write_section("pipeline", markdown)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
