"""Run a benchmark against a database and Redis database of its own.

A benchmark's `main()` calls `relaunch_isolated(...)`: the bench database is created and
migrated, then the same script runs again with `--child`, its environment pointed there,
so no benchmark ever touches the development or test data.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def isolated_urls(*, bench_db: str, redis_db: int) -> tuple[str, str]:
    """DATABASE_URL and REDIS_URL of the configured servers, on the bench's databases."""
    import environ

    env = environ.Env()
    base = env.str("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/gazer")
    redis = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
    return base.rsplit("/", 1)[0] + "/" + bench_db, f"{redis}/{redis_db}"


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
