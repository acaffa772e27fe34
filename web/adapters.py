"""The activity and feed contracts, read through one seam.

The pages read `activity.selectors.user_activity_get`, `feed.services.feed_serve` and
`feed.services.feed_rebuild_request`, the same functions the API calls. Each adapter
answers None while its function does not exist in this checkout, and the page shows
an honest empty state instead of failing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def _contract(module: str, name: str) -> Callable[..., Any] | None:
    # Imported by name at call time: the page must render whether or not the upper app
    # has shipped this function yet.
    try:
        found = importlib.import_module(module)
    except ImportError:
        return None
    function = getattr(found, name, None)
    return function if callable(function) else None


def user_activity(*, user) -> dict[str, Any] | None:
    """`{"activity": <document or None>, "coverage": ...}`, or None without the selector."""
    function = _contract("activity.selectors", "user_activity_get")
    return function(user=user) if function else None


def feed_items(*, viewer, limit: int = 30) -> list[dict[str, Any]] | None:
    """The viewer's feed as `GET /for-you/<viewer>` serves it (exposures recorded)."""
    function = _contract("feed.services", "feed_serve")
    return function(viewer=viewer, limit=limit) if function else None


def feed_rebuild(*, viewer) -> Any | None:
    """What `POST /for-you/<viewer>` does; None without the service."""
    function = _contract("feed.services", "feed_rebuild_request")
    return function(viewer=viewer) if function else None


def feed_available() -> bool:
    return _contract("feed.services", "feed_serve") is not None
