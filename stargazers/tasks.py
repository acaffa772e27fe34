"""Star-graph Celery tasks: thin wrappers that load by id and call a service.

Each imports its service inside its body: the services enqueue these tasks, so a
module-level import would be a cycle.
"""

from __future__ import annotations

import logging
import os

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from workers import retry
from workers.schedule import periodic

logger = logging.getLogger(__name__)

# The dead man's switch: a crawl task alive this long is killed (Celery time_limit) and
# its row released by on_failure or, failing that, the stale-claim sweep.
DEADLINE = settings.STARGAZER_TASK_DEADLINE_SECONDS
SOFT_DEADLINE = max(DEADLINE - 60, 1)


def _worker_id(task) -> str:
    return f"{task.request.hostname or 'local'}:{os.getpid()}/{task.request.id or '-'}"


class CrawlTask(Task):
    """Releases the repo's claim when the task dies (time limit, crash)."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        if args:
            from stargazers.services import stargazer_crawl_release

            released = stargazer_crawl_release(
                repo_id=args[0], worker_suffix=f"/{task_id}", error=f"task failed: {exc!r}"[:500]
            )
            logger.warning(
                "stargazers.task_failed",
                extra={"repo_id": args[0], "task_id": task_id, "released": released},
            )


@shared_task(
    bind=True,
    base=CrawlTask,
    name="stargazers.stargazer_crawl",
    soft_time_limit=SOFT_DEADLINE,
    time_limit=DEADLINE,
    # Transient errors back off through the row (not_before); only a short secondary
    # limit retries this task, with the countdown the service asks for.
    max_retries=retry.MAX_RETRIES,
    acks_late=True,
)
def stargazer_crawl(self, repo_id: int) -> str:
    """Process up to STARGAZER_PAGES_PER_TASK stargazer pages of one repo."""
    from stargazers.services import stargazer_crawl_release, stargazer_crawl_run

    worker = _worker_id(self)
    try:
        return stargazer_crawl_run(repo_id=repo_id, worker=worker)
    except retry.RetryLater as exc:
        # Past the bound the row is pending with its not_before: the dispatch sweep.
        raise self.retry(countdown=exc.countdown) from None
    except SoftTimeLimitExceeded:
        stargazer_crawl_release(repo_id=repo_id, worker=worker, error="soft time limit")
        logger.error("stargazers.deadline", extra={"repo_id": repo_id})
        return "deadline"


@shared_task(
    bind=True,
    name="stargazers.account_stars_sync",
    soft_time_limit=600,
    time_limit=660,
    **retry.transient_retry(),
)
def account_stars_sync(self, user_id: int, is_new: bool) -> int:
    """Sync an account's starred list, then fan out its repos' crawls. A rate limit
    waits on the account row (the account sweep resumes it); a short secondary limit
    retries after the wait GitHub named."""
    from stargazers.services import account_stars_sync as sync
    from stargazers.services import account_stars_sync_defer

    try:
        result = sync(user_id=user_id, is_new=is_new)
    except retry.RATE_LIMITS as exc:
        countdown = retry.short_wait(exc)
        if countdown is not None:
            raise self.retry(countdown=countdown) from None
        account_stars_sync_defer(user_id=user_id, not_before=retry.wait_until(exc))
        return 0
    return result.starred if result else 0


@periodic(
    name="stargazers: dispatch due crawls",
    every=60,
    description="Enqueue due star-graph rows (pending, past not_before) with no live "
    "message, and accounts whose starred sync was lost.",
)
@shared_task(
    name="stargazers.stargazer_crawls_dispatch", soft_time_limit=50, time_limit=60, max_retries=0
)
def stargazer_crawls_dispatch() -> int:
    """Beat: enqueue due crawl rows that have no live message."""
    from stargazers.services import accounts_sync_dispatch
    from stargazers.services import stargazer_crawls_dispatch as dispatch

    return dispatch() + accounts_sync_dispatch()


@periodic(
    name="stargazers: refresh accounts",
    every=3600,
    description="Re-sync accounts' starred lists a day old (low queue, conditional).",
)
@shared_task(
    name="stargazers.accounts_stars_refresh", soft_time_limit=50, time_limit=60, max_retries=0
)
def accounts_stars_refresh() -> int:
    """Beat (hourly): re-sync accounts whose starred list is a day old."""
    from stargazers.services import accounts_stars_refresh_due

    return accounts_stars_refresh_due()


@periodic(
    name="stargazers: reset stale claims",
    every=300,
    description="Release crawl claims without a heartbeat for STARGAZER_CLAIM_TTL_SECONDS.",
)
@shared_task(
    name="stargazers.stargazer_claims_reset_stale",
    soft_time_limit=50,
    time_limit=60,
    max_retries=0,
)
def stargazer_claims_reset_stale() -> int:
    """Beat (every 5 minutes): release claims without a heartbeat for the TTL."""
    from stargazers.services import stargazer_claims_reset_stale as reset

    return reset()


@shared_task(
    name="stargazers.star_history_refresh",
    soft_time_limit=60,
    time_limit=90,
    **retry.transient_retry(retry_backoff_max=120, max_retries=3),
)
def star_history_refresh(repo_id: int) -> int:
    """Fetch and store a repo's daily star history."""
    from stargazers.services import star_history_refresh as refresh

    return refresh(repo_id=repo_id)


# The registered names below keep their first spelling: queued messages and the periodic
# task rows of running installations name them.
@shared_task(
    name="stargazers.star_signals_refresh",
    soft_time_limit=120,
    time_limit=150,
    **retry.transient_retry(retry_backoff_max=60, max_retries=3),
)
def star_affinity_refresh(user_id: int) -> bool:
    """Recompute one account's kindred and star affinity (marked stale)."""
    from stargazers.services import star_affinity_refresh as refresh

    return refresh(user_id=user_id)


@periodic(
    name="stargazers: refresh stale star signals",
    every=300,
    description="Recompute kindred and star-graph signals marked stale whose refresh "
    "message was lost.",
)
@shared_task(name="stargazers.star_signals_sweep", soft_time_limit=50, time_limit=60, max_retries=0)
def star_affinity_sweep() -> int:
    """Beat (every 5 minutes): enqueue star-affinity refreshes that are due (or whose
    message was lost)."""
    from stargazers.services import star_affinity_sweep as sweep

    return sweep()


# The stopping worker's claims and final figures (connected wherever the tasks load).
from stargazers import shutdown as _shutdown  # noqa: E402, F401
