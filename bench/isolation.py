"""Run a benchmark against a database and Redis database of its own.

A benchmark's options start from `bench_parser` and its `main()` is `bench_main(...)`:
the bench database is created and migrated, then the same script runs again with
`--child`, its environment pointed there, so no benchmark ever touches the development
or test data.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def isolated_urls(*, bench_db: str, redis_db: int) -> tuple[str, str]:
    """DATABASE_URL and REDIS_URL of the configured servers, on the bench's databases."""
    import environ

    env = environ.Env()
    base = env.str("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/gazer")
    redis = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
    return base.rsplit("/", 1)[0] + "/" + bench_db, f"{redis}/{redis_db}"


def bench_parser(doc: str, *, redis_db: int) -> argparse.ArgumentParser:
    """The options every isolated benchmark takes (its Redis database, `--no-write`, the
    relaunch's `--child`); the benchmark adds its own."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--redis-db", type=int, default=redis_db)
    parser.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser


def bench_main(
    *,
    script: str,
    argv: list[str] | None,
    parse: Callable[[list[str]], argparse.Namespace],
    child: Callable[[argparse.Namespace], int],
    bench_db: str,
) -> int:
    """A benchmark's `main`: in a child process pointed at the bench's own database and
    Redis database."""
    argv = list(argv if argv is not None else sys.argv[1:])
    return run_isolated(script=script, argv=argv, args=parse(argv), child=child, bench_db=bench_db)


def run_isolated(*, script: str, argv: list[str], args, child, bench_db: str) -> int:
    """A benchmark's `main`: `child(args)` when already relaunched, else relaunch."""
    if args.child:
        return child(args)
    return relaunch_isolated(script=script, argv=argv, bench_db=bench_db, redis_db=args.redis_db)


def relaunch_isolated(*, script: str, argv: list[str], bench_db: str, redis_db: int) -> int:
    """Prepare the bench database, then rerun `script --child argv...` pointed at it."""
    database_url, redis_url = isolated_urls(bench_db=bench_db, redis_db=redis_db)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOG_LEVEL": "WARNING",
    }
    python = sys.executable
    subprocess.run([python, "manage.py", "ensure_database"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    forwarded = [arg for arg in argv if arg != "--child"]
    child = [python, str(Path(script).resolve()), "--child", *forwarded]
    return subprocess.run(child, cwd=ROOT, env=env, check=False).returncode
