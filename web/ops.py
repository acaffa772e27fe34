"""The operations page's figures, from the selectors the admin API reads."""

from __future__ import annotations

from typing import Any


def ops_context() -> dict[str, Any]:
    return {}
