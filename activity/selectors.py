"""Reads of the activity app."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db.models.functions import Lower

from activity.models import UserActivity
from users.models import GitHubUser


def _row(user: GitHubUser) -> dict[str, Any] | None:
    return UserActivity.objects.filter(user_id=user.id).values("document", "coverage").first()


def user_activity_get(*, user: GitHubUser) -> dict[str, Any]:
    """`{"activity": <the document or None>, "coverage": <dict or None>}`: None until the
    `user_activity` step has run."""
    row = _row(user)
    if row is None:
        return {"activity": None, "coverage": None}
    return {"activity": json.loads(row["document"]), "coverage": row["coverage"] or None}


def user_activity_computed_at(*, user_id: int) -> datetime | None:
    """When the user's activity document was stored (None before the step ran): one
    column, for callers that keep something drawn from the document."""
    return (
        UserActivity.objects.filter(user_id=user_id).values_list("computed_at", flat=True).first()
    )


def user_activity_envelope_json(*, login: str) -> bytes | None:
    """The endpoint's body, `{"ok": true, "activity": ..., "coverage": ...}`, with the
    stored document spliced in as it is (no decode and re-encode per request), in one
    query; None when no document is stored for `login` (the caller tells why)."""
    # lower(login) = lower(x) uses the users' case-insensitive unique index.
    row = (
        UserActivity.objects.alias(login_lower=Lower("user__login"))
        .filter(login_lower=login.lower())
        .exclude(user__state=GitHubUser.State.DISCOVERED)
        .values("document", "coverage")
        .first()
    )
    if row is None:
        return None
    coverage = json.dumps(row["coverage"] or None, separators=(",", ":"))
    return f'{{"ok":true,"activity":{row["document"]},"coverage":{coverage}}}'.encode()
