"""Feed Celery tasks: thin wrappers that load by id and call a service."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from workers.schedule import periodic

# A rebuild judges FEED_JUDGE_TOP_N / FEED_JUDGE_BATCH_SIZE prompts (10 by default), each
# bounded by the LLM gateway's timeout and attempts.
REBUILD_TIME_LIMIT = 900


@shared_task(
    name="feed.feed_rebuild",
    soft_time_limit=REBUILD_TIME_LIMIT - 60,
    time_limit=REBUILD_TIME_LIMIT,
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=3,
)
def feed_rebuild(viewer_id: int) -> dict | None:
    """Rebuild one viewer's feed (stage 1 + batched, cached LLM judgments)."""
    from feed.services import feed_rebuild_run

    return feed_rebuild_run(viewer_id=viewer_id)


@periodic(
    name="feed: resend lost rebuilds",
    every=300,
    description="Re-send For You rebuild requests queued five minutes ago and not taken.",
)
@shared_task(name="feed.feed_rebuild_sweep", soft_time_limit=50, time_limit=60)
def feed_rebuild_sweep() -> int:
    """Beat (every 5 minutes): re-send queued rebuilds whose message was lost."""
    from feed.services import feed_rebuild_sweep as sweep

    return sweep()
