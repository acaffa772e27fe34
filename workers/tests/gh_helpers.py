"""Shared helpers of the gateway tests: a gateway pointed at a given simulator."""

from __future__ import annotations

import uuid

from django.conf import settings

from workers.github.client import GitHubGateway


def new_token(login: str = "avery-lin") -> str:
    """A fresh simulator token for `login`: its own budget at the simulator and in Redis."""
    return f"sim_{login}_{uuid.uuid4().hex[:10]}"


def gateway(
    sim, *, tokens: list[str] | None = None, per_hour: int = 4000, **options
) -> GitHubGateway:
    """A gateway on `sim`; its in-call retries wait milliseconds, not seconds."""
    options.setdefault("retry_backoff", 0.01)
    return GitHubGateway(
        api_url=sim.api_url,
        web_url=sim.web_url,
        tokens=tokens if tokens is not None else [new_token()],
        requests_per_hour=per_hour,
        redis_url=settings.REDIS_URL,
        timeout=10.0,
        **options,
    )


def clear_gateway_cache() -> None:
    """Drop conditional-cache entries (keys of the gateway only, never the whole DB)."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter("gh:etag:*", count=500))
    if keys:
        client.delete(*keys)
