"""/health's check of the star-graph engine, registered with workers.health by
`stargazers.hooks` (infrastructure glue, not a selector)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from stargazers.models import StargazerCrawl
from stargazers.selectors.crawls import stargazers_paused
from workers import health

# The check's key in /health's JSON. Clients and probes read `checks.supervisor`, so the
# public name stays while the code calls it what it checks: the crawl claims.
CHECK_NAME = "supervisor"


def crawl_claims_state() -> tuple[str, str]:
    """(status, message): degraded while claims sit past their heartbeat TTL."""
    cutoff = timezone.now() - timedelta(seconds=settings.STARGAZER_CLAIM_TTL_SECONDS)
    # One query for both figures: health probes call this every few seconds.
    counts = StargazerCrawl.objects.filter(status=StargazerCrawl.Status.PROCESSING).aggregate(
        processing=Count("pk"), stale=Count("pk", filter=Q(heartbeat_at__lt=cutoff))
    )
    stale, processing = counts["stale"], counts["processing"]
    paused = stargazers_paused()
    message = f"{processing} repo(s) processing" + ("; paused by an operator" if paused else "")
    if stale:
        return "degraded", f"{stale} claim(s) without heartbeat past the TTL; {message}"
    return "healthy", message


def crawl_claims_check() -> health.Check:
    """/health's check of the crawl claims; a failing read reports, never raises."""
    try:
        status, message = crawl_claims_state()
    except Exception as exc:  # noqa: BLE001 - a failing check reports, never raises
        return health.Check(health.DEGRADED, f"star-graph state unreadable: {type(exc).__name__}")
    return health.Check(status, message)
