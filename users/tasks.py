"""Celery tasks of the profile pipeline: thin, by id, idempotent (the rows decide).

Each imports the run engine inside its body: the engine enqueues these tasks, so a
module-level import would be a cycle.
"""

from __future__ import annotations

import logging

from celery import shared_task

from workers import retry
from workers.schedule import periodic

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name="users.pipeline_advance",
    soft_time_limit=60,
    time_limit=90,
    # A database that cannot be reached for a moment delays the dispatch by seconds, not
    # until the sweep finds the run idle.
    **retry.transient_retry(autoretry_for=retry.DATABASE_ERRORS, retry_backoff_max=60),
)
def pipeline_advance(self, run_id: int) -> int:
    """Dispatch the run's ready steps and settle its status. Returns how many it queued."""
    from users import engine

    return len(engine.pipeline_advance(run_id=run_id))


@shared_task(
    bind=True,
    name="users.work_item_run",
    # A blurb clones a repository and calls the LLM: minutes at most.
    soft_time_limit=240,
    time_limit=300,
    # Short secondary limits: the engine records the attempt and asks for a countdown;
    # transient errors and rate limits wait on the row (`not_before`). A database error
    # before the step could be claimed retries in seconds, not at the next redispatch.
    **retry.transient_retry(autoretry_for=retry.DATABASE_ERRORS, retry_backoff_max=60),
)
def work_item_run(self, item_id: int) -> str:
    """Run one pipeline step. A short secondary limit retries with a countdown (bounded
    here); transient errors and rate limits wait on the row, never here."""
    from users import engine

    try:
        return engine.work_item_run(
            item_id=item_id, final_attempt=self.request.retries >= self.max_retries
        )
    except retry.RetryLater as exc:
        raise self.retry(countdown=exc.countdown) from None


@periodic(
    name="users: pipeline sweep",
    every=60,
    description="Resume profile runs whose rate-limit wait is over; recover lost steps.",
)
@shared_task(name="users.pipeline_sweep", soft_time_limit=50, time_limit=60, max_retries=0)
def pipeline_sweep() -> dict:
    """Beat: resume runs whose rate-limit wait is over and recover lost steps."""
    from users import engine

    return engine.pipeline_sweep()
