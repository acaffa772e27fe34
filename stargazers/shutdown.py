"""A stopping worker gives its crawls back at once and logs its final figures.

In the worker's main process (connected when the tasks load):

* on `worker_shutting_down` (SIGTERM's warm shutdown, or a cold one) every crawl a pool
  process of this worker holds goes back to pending, so another worker may take it
  within seconds rather than after the claim TTL; the process still running it finds
  its claim gone at its next page write and stops without writing;
* on `worker_shutdown` (the pool has stopped, no message is consumed any more) the
  released repos are sent to the queues again, and one line gives the final figures.
"""

from __future__ import annotations

import logging
import time

from celery import signals

logger = logging.getLogger(__name__)
_STARTED = time.monotonic()
_released: dict[str, list[int]] = {}


@signals.worker_shutting_down.connect
def crawls_release_on_shutdown(sender=None, sig=None, how=None, **_kwargs) -> None:
    from stargazers.services import stargazer_crawls_release_worker

    hostname = str(sender or "")
    try:
        released = stargazer_crawls_release_worker(hostname=hostname)
    except Exception:
        logger.warning("stargazers.shutdown_release_failed", exc_info=True)
        return
    _released.setdefault(hostname, []).extend(released)
    logger.warning(
        "stargazers.worker_stopping",
        extra={"worker": hostname, "signal": sig, "how": how, "released": len(released)},
    )


@signals.worker_shutdown.connect
def final_figures_on_shutdown(sender=None, **_kwargs) -> None:
    from celery.worker import state

    from stargazers.models import StargazerCrawl
    from stargazers.services import stargazer_crawls_dispatch

    hostname = str(getattr(sender, "hostname", "") or "")
    released = _released.pop(hostname, [])
    figures = {
        "worker": hostname,
        "uptime_seconds": int(time.monotonic() - _STARTED),
        "tasks_processed": dict(state.total_count),
        "crawls_released": len(released),
    }
    try:
        figures["crawls_resent"] = stargazer_crawls_dispatch(repo_ids=released) if released else 0
        still_claimed = StargazerCrawl.objects.filter(
            status=StargazerCrawl.Status.PROCESSING, claimed_by__startswith=f"{hostname}:"
        ).count()
        figures["crawls_still_claimed"] = still_claimed
    except Exception:
        logger.warning("stargazers.shutdown_resend_failed", exc_info=True)
    logger.warning("worker.final_figures", extra=figures)
