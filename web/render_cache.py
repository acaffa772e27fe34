"""Drawn SVGs (the activity heatmap, star histories) kept in the project's cache.

Drawing is most of what the heatmap fragment and the profile cost per request, and the
same drawing is asked for again and again. Each key holds everything its drawing
depends on, so an entry is never stale, only unused: a new activity document, another
view, another day or a changed star history is another key. A miss (evicted, Redis
flushed) draws again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import redis
from django.core.cache import cache

from web import charts, heatmap

logger = logging.getLogger(__name__)

# Entries never go stale; the timeout only frees the ones nobody asks for any more.
RENDER_SECONDS = 24 * 3600
# The drawing code is part of every key: a deploy that changes how a chart is drawn (or
# what `Heatmap` holds) never serves a drawing of the previous code.
DRAWING_VERSION = hashlib.blake2b(
    b"".join(Path(module.__file__).read_bytes() for module in (charts, heatmap)), digest_size=6
).hexdigest()


def _key(kind: str, *parts: Any) -> str:
    # Hashed: filter names may hold spaces and a history is long; a key stays short.
    digest = hashlib.blake2b(
        json.dumps(parts, default=str, separators=(",", ":")).encode(), digest_size=16
    ).hexdigest()
    return f"web:{kind}:{DRAWING_VERSION}:{digest}"


# The cache is a shortcut, never a dependency: with Redis away a page draws everything.
def _read(keys: list[str]) -> dict[str, Any]:
    try:
        return cache.get_many(keys)
    except (redis.RedisError, OSError):
        logger.warning("render_cache.unavailable", exc_info=True)
        return {}


def _keep(entries: dict[str, Any]) -> None:
    try:
        cache.set_many(entries, RENDER_SECONDS)
    except (redis.RedisError, OSError):
        logger.warning("render_cache.unavailable", exc_info=True)


def once_per(key: str, seconds: int) -> bool:
    """True for the first caller in `seconds` (and whenever the cache is away)."""
    try:
        return bool(cache.add(key, 1, seconds))
    except (redis.RedisError, OSError):
        logger.warning("render_cache.unavailable", exc_info=True)
        return True


def heatmap_key(
    *,
    user_id: int,
    stamp: datetime,
    today: date,
    mode: str,
    repo: str | None,
    language: str | None,
) -> str:
    return _key("heatmap", user_id, stamp.isoformat(), today.isoformat(), mode, repo, language)


def heatmap_drawn(
    *,
    user_id: int,
    stamp: datetime,
    today: date,
    mode: str,
    repo: str | None,
    language: str | None,
    document: Callable[[], dict[str, Any] | None],
) -> heatmap.Heatmap | None:
    """The heatmap of the document stored at `stamp`, in the view asked for; `document`
    is loaded only when the drawing is not cached.

    `document()` reads after `stamp` was read: a document stored in between is drawn
    under the older stamp, a key no later request asks for (they see the newer one).
    """
    key = heatmap_key(
        user_id=user_id, stamp=stamp, today=today, mode=mode, repo=repo, language=language
    )
    drawn = _read([key]).get(key)
    if drawn is not None:
        return drawn
    drawn = heatmap.heatmap_render(document(), today=today, mode=mode, repo=repo, language=language)
    # Kept only when drawn as asked: a made-up mode or filter (the drawing ignores it)
    # must not add an entry per name someone types into the URL.
    if drawn is not None and (drawn.mode, drawn.repo, drawn.language) == (mode, repo, language):
        _keep({key: drawn})
    return drawn


def star_history_key(*, repo_id: int, full_name: str, version: str) -> str:
    # Stored days carry no fetch time (a refresh upserts them): the version is a digest
    # of the days and counts themselves, so any changed count is another key.
    return _key("star-history", repo_id, full_name, version)


def star_histories_drawn(
    *,
    names: dict[int, str],
    versions: dict[int, str],
    days: Callable[[list[int]], dict[int, list[dict[str, Any]]]],
) -> dict[int, tuple[str, dict[str, Any]] | None]:
    """`charts.star_history_svg` of each repo in `names` that has stored days (its
    `versions` entry), by repo id: the cached ones read in one round trip, and `days`
    asked only for the repos not cached."""
    keys = {
        repo_id: star_history_key(repo_id=repo_id, full_name=name, version=versions[repo_id])
        for repo_id, name in names.items()
        if repo_id in versions
    }
    found = _read(list(keys.values())) if keys else {}
    out = {repo_id: found[key] for repo_id, key in keys.items() if key in found}
    missing = [repo_id for repo_id in keys if repo_id not in out]
    fresh: dict[str, tuple[str, dict[str, Any]]] = {}
    for repo_id, history in (days(missing) if missing else {}).items():
        out[repo_id] = charts.star_history_svg(history, repo=names[repo_id]) if history else None
        if out[repo_id] is not None:
            fresh[keys[repo_id]] = out[repo_id]
    if fresh:
        _keep(fresh)
    return out
