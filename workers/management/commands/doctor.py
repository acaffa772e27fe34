from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from workers import health

Result = tuple[str, str, str]  # (name, verdict: ok | WARN | FAIL, detail)


class Command(BaseCommand):
    help = "Check database, Redis, migrations, workers, GitHub and LLM configuration."

    def handle(self, *args, **options):
        results = [
            environment_check(),
            *database_checks(),
            *redis_checks(),
            *configuration_checks(),
            secrets_check(),
        ]
        width = max(len(name) for name, _, _ in results)
        for name, verdict, detail in results:
            style = {"ok": self.style.SUCCESS, "WARN": self.style.WARNING}.get(
                verdict, self.style.ERROR
            )
            self.stdout.write(f"{name.ljust(width)}  {style(verdict.ljust(4))}  {detail}")
        if any(verdict == "FAIL" for _, verdict, _ in results):
            raise SystemExit(1)


def environment_check() -> Result:
    """Where the settings came from and which database, Redis and GitHub they name."""
    db_settings = connection.settings_dict
    return (
        "environment",
        "ok",
        f"read from {', '.join(settings.ENV_SOURCES)}; database "
        f"{db_settings['NAME']} on {db_settings.get('HOST') or 'localhost'}:"
        f"{db_settings.get('PORT') or 5432}, redis "
        f"{settings.REDIS_URL.rsplit('@', 1)[-1]}, GitHub {settings.GITHUB_API_URL}",
    )


def database_checks() -> list[Result]:
    """The database answers, and (when it does) no migration is left to apply."""
    db = health.database_check()
    results = [
        (
            "database",
            "ok" if db.status == "healthy" else "FAIL",
            db.message or connection.settings_dict["NAME"],
        )
    ]
    if db.status == "healthy":
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        results.append(
            (
                "migrations",
                "ok" if not pending else "FAIL",
                "up to date"
                if not pending
                else f"{len(pending)} unapplied: run `manage.py migrate`",
            )
        )
    return results


def redis_checks() -> list[Result]:
    """Redis answers, and (when it does) workers, the LLM one included, beat into it."""
    broker = health.redis_check()
    results = [
        (
            "redis",
            "ok" if broker.status == "healthy" else "FAIL",
            broker.message or settings.REDIS_URL.rsplit("@", 1)[-1],
        )
    ]
    if broker.status != "healthy":
        return results
    workers = health.worker_snapshot(timeout=1.5)
    results.append(
        (
            "workers",
            "ok" if workers["total"] else "WARN",
            f"{workers['total']} running"
            if workers["total"]
            else "none answered: start one with `make run`",
        )
    )
    llm_worker = health.llm_worker_check()
    if llm_worker is not None:
        results.append(
            (
                "llm worker",
                "ok" if llm_worker.status == "healthy" else "WARN",
                llm_worker.message or "",
            )
        )
    return results


def configuration_checks() -> list[Result]:
    """What runs degraded for want of a setting: GitHub tokens, the LLM, the admin API."""
    tokens = len(settings.GITHUB_TOKENS)
    llm = bool(settings.LLM_API_KEY or settings.LLM_API_BASE)
    return [
        (
            "github",
            "ok" if tokens else "WARN",
            f"{settings.GITHUB_API_URL} with {tokens} token(s)"
            if tokens
            else f"{settings.GITHUB_API_URL} unauthenticated (60 requests/hour)",
        ),
        (
            "llm",
            "ok" if llm else "WARN",
            f"{settings.LLM_MODEL}"
            + (f" at {settings.LLM_API_BASE}" if settings.LLM_API_BASE else "")
            if llm
            else "no key: heuristic fallbacks will be used",
        ),
        (
            "admin api",
            "ok" if settings.ADMIN_API_KEY else "WARN",
            "enabled"
            if settings.ADMIN_API_KEY
            else "ADMIN_API_KEY unset: /admin-api/ refuses every call",
        ),
    ]


def secrets_check() -> Result:
    """Whether SECRET_KEY and TOKEN_ENCRYPTION_KEY are secret (the settings refuse public
    defaults with DEBUG off, so a public one here means DEBUG is on)."""
    public = list(settings.PUBLIC_SECRETS)
    if public:
        return (
            "secrets",
            "FAIL" if not settings.DEBUG else "WARN",
            f"{' and '.join(public)} public default (allowed only with DEBUG on): "
            "run `make setup` to write fresh ones into .env",
        )
    if settings.TOKEN_ENCRYPTION_KEY_DERIVED:
        return (
            "secrets",
            "WARN",
            "TOKEN_ENCRYPTION_KEY unset: derived from SECRET_KEY, so rotating SECRET_KEY "
            "loses stored tokens; set it (`make setup` writes one)",
        )
    old = len(settings.TOKEN_ENCRYPTION_KEYS_OLD)
    return (
        "secrets",
        "ok",
        "SECRET_KEY and TOKEN_ENCRYPTION_KEY set"
        + (f"; {old} old token key(s) still decrypt" if old else ""),
    )
