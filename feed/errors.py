"""Domain errors of the feed (answered as `{"ok": false, "error": {...}}`)."""

from __future__ import annotations

from config.errors import GazerError


class InvalidLimit(GazerError):
    code = "invalid_limit"
    message = "limit must be an integer from 1 to 100 (default 30)."
    http_status = 400


class InvalidWait(GazerError):
    code = "invalid_wait"
    message = "wait must be true or false."
    http_status = 400
