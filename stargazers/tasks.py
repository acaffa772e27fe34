"""Star-graph Celery tasks: thin wrappers that load by id and call a service.

Each imports its service inside its body: the services enqueue these tasks, so a
module-level import would be a cycle.
"""

from __future__ import annotations

import logging
import os
import random

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import OperationalError

from workers.github import errors as gh_errors

logger = logging.getLogger(__name__)

# The dead man's switch: a crawl task alive this long is killed (Celery time_limit) and
# its row released by on_failure or, failing that, the stale-claim sweep.
DEADLINE = settings.STARGAZER_TASK_DEADLINE_SECONDS
SOFT_DEADLINE = max(DEADLINE - 60, 1)


def _worker_id(task) -> str:
    return f"{task.request.hostname or 'local'}:{os.getpid()}/{task.request.id or '-'}"


def _gateway_transient() -> tuple[type[BaseException], ...]:
    """Errors worth a bounded Celery retry: the gateway's transient ones and DB hiccups."""
    return (gh_errors.Transient, OperationalError)


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
    max_retries=5,
    acks_late=True,
)
def stargazer_crawl(self, repo_id: int) -> str:
    """Process up to STARGAZER_PAGES_PER_TASK stargazer pages of one repo."""
    from stargazers.services import RetryLater, stargazer_crawl_release, stargazer_crawl_run

    worker = _worker_id(self)
    try:
        return stargazer_crawl_run(repo_id=repo_id, worker=worker)
    except RetryLater as exc:
        raise self.retry(countdown=exc.countdown, max_retries=None) from None
    except SoftTimeLimitExceeded:
        stargazer_crawl_release(repo_id=repo_id, worker=worker, error="soft time limit")
        logger.error("stargazers.deadline", extra={"repo_id": repo_id})
        return "deadline"


@shared_task(
    bind=True,
    name="stargazers.account_stars_sync",
    soft_time_limit=600,
    time_limit=660,
    autoretry_for=_gateway_transient(),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def account_stars_sync(self, user_id: int, is_new: bool) -> int:
    """Sync an account's starred list, then fan out its repos' crawls."""
    from stargazers.services import account_stars_sync as sync

    try:
        result = sync(user_id=user_id, is_new=is_new)
    except gh_errors.RateLimited as exc:
        # No sleeping: come back after the reset (well under visibility_timeout); the
        # account sweep covers a lost message.
        raise self.retry(countdown=min(exc.seconds_left + 5, 3300), max_retries=None) from None
    except gh_errors.SecondaryRateLimited as exc:
        # GitHub said how long to wait: honour it rather than the generic backoff.
        countdown = min(exc.retry_after + random.uniform(1, 5), 3300)  # noqa: S311 - jitter
        raise self.retry(countdown=countdown, max_retries=None) from None
    return result.starred if result else 0


@shared_task(name="stargazers.stargazer_crawls_dispatch", soft_time_limit=50, time_limit=60)
def stargazer_crawls_dispatch() -> int:
    """Beat: enqueue due crawl rows that have no live message."""
    from stargazers.services import accounts_sync_dispatch
    from stargazers.services import stargazer_crawls_dispatch as dispatch

    return dispatch() + accounts_sync_dispatch()


@shared_task(name="stargazers.accounts_stars_refresh", soft_time_limit=50, time_limit=60)
def accounts_stars_refresh() -> int:
    """Beat (hourly): re-sync accounts whose starred list is a day old."""
    from stargazers.services import accounts_stars_refresh_due

    return accounts_stars_refresh_due()


@shared_task(name="stargazers.stargazer_claims_reset_stale", soft_time_limit=50, time_limit=60)
def stargazer_claims_reset_stale() -> int:
    """Beat (every 5 minutes): release claims without a heartbeat for the TTL."""
    from stargazers.services import stargazer_claims_reset_stale as reset

    return reset()


@shared_task(
    name="stargazers.star_history_refresh",
    soft_time_limit=60,
    time_limit=90,
    autoretry_for=_gateway_transient(),
    retry_backoff=5,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=3,
)
def star_history_refresh(repo_id: int) -> int:
    """Fetch and store a repo's daily star history."""
    from stargazers.services import star_history_refresh as refresh

    return refresh(repo_id=repo_id)
