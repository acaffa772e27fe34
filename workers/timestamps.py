"""The one timestamp parser: ISO 8601 date-times as GitHub, git and API clients write them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def timestamp_parse(value: Any) -> datetime | None:
    """`value` as an aware UTC datetime: an ISO 8601 string (`2024-01-02T03:04:05Z`, an
    offset, a space for the `T`, a date alone as its midnight) or a datetime; a time
    without a zone is UTC. Empty or malformed: None (callers decide what that means)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
