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
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.core.cache import cache

from activity.models import UserActivity
from web import charts, heatmap

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


def activity_stamp(*, user_id: int) -> datetime | None:
    """When the user's activity document was stored, or None before the step ran.

    One column, not the document: `activity.selectors` serves the document alone, and a
    cached drawing needs only to know which document it was drawn from.
    """
    return (
        UserActivity.objects.filter(user_id=user_id).values_list("computed_at", flat=True).first()
    )


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
    drawn = cache.get(key)
    if drawn is not None:
        return drawn
    drawn = heatmap.heatmap_render(document(), today=today, mode=mode, repo=repo, language=language)
    # Kept only when drawn as asked: a made-up mode or filter (the drawing ignores it)
    # must not add an entry per name someone types into the URL.
    if drawn is not None and (drawn.mode, drawn.repo, drawn.language) == (mode, repo, language):
        cache.set(key, drawn, RENDER_SECONDS)
    return drawn


def star_history_key(*, repo_id: int, full_name: str, days: list[dict[str, Any]]) -> str:
    # Stored days carry no fetch time (a refresh upserts them), so the days themselves
    # are the version: any changed count is another key.
    return _key("star-history", repo_id, full_name, days)


def star_histories_drawn(
    histories: dict[int, tuple[str, list[dict[str, Any]]]],
) -> dict[int, tuple[str, dict[str, Any]] | None]:
    """`charts.star_history_svg` of each repo's `(full_name, days)`, by repo id, the
    cached ones read in one round trip."""
    keys = {
        repo_id: star_history_key(repo_id=repo_id, full_name=name, days=days)
        for repo_id, (name, days) in histories.items()
    }
    found = cache.get_many(list(keys.values())) if keys else {}
    out: dict[int, tuple[str, dict[str, Any]] | None] = {}
    fresh: dict[str, tuple[str, dict[str, Any]]] = {}
    for repo_id, key in keys.items():
        if key in found:
            out[repo_id] = found[key]
            continue
        name, days = histories[repo_id]
        out[repo_id] = charts.star_history_svg(days, repo=name)
        if out[repo_id] is not None:
            fresh[key] = out[repo_id]
    if fresh:
        cache.set_many(fresh, RENDER_SECONDS)
    return out
