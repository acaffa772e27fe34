"""Log formats: `plain` (human lines with every extra field as key=value) or `json`.

Both show the same fields: time, level, logger, request id, message, and every `extra`
passed to the call (a crawl's `page=` and `stored=`, a 500's `status_code=`). Chosen by
`LOG_FORMAT` in config/settings.py.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from config.middleware import request_id_var

# Attributes every LogRecord has: anything else on a record came from `extra`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
    "request_id",
    # Django's request logger attaches the HttpRequest itself; the filter below turns it
    # into `method` and `path`.
    "request",
}


def record_extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class RequestIdLogFilter(logging.Filter):
    """Every record gets `request_id`: the record's own, the current request's, or
    (for `django.request`'s lines, logged after the middleware returned) the id the
    middleware stored on the request. Django's request object becomes method and path."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if not hasattr(record, "request_id"):
            from_request = getattr(request, "request_id", None) if request is not None else None
            record.request_id = from_request or request_id_var.get()
        if request is not None and hasattr(request, "path") and not hasattr(record, "path"):
            record.method = getattr(request, "method", "")
            record.path = request.path
        return True


def _value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value) if (not value or any(c in value for c in ' ="\n')) else value
    if isinstance(value, int | float | bool) or value is None:
        return json.dumps(value)
    return json.dumps(value, default=str, sort_keys=True, separators=(",", ":"))


class KeyValueFormatter(logging.Formatter):
    """`time LEVEL logger [request id] message key=value ...`"""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        super().__init__(*args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        line = super().format(record)
        extras = record_extras(record)
        if not extras:
            return line
        head, sep, tail = line.partition("\n")  # tracebacks stay below the fields
        fields = " ".join(f"{key}={_value(value)}" for key, value in sorted(extras.items()))
        return f"{head} {fields}{sep}{tail}"


class GazerJsonFormatter(JsonFormatter):
    """One JSON object per line: timestamp, level, logger, request_id, message, extras."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", "%(levelname)s %(name)s %(request_id)s %(message)s")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", True)
        kwargs.setdefault("reserved_attrs", sorted(_STANDARD - {"request_id"}))
        super().__init__(*args, **kwargs)

    def add_fields(self, log_data, record, message_dict) -> None:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        super().add_fields(log_data, record, message_dict)
