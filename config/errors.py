"""Domain errors and the one JSON error shape every endpoint answers with.

`{"ok": false, "error": {"code": "...", "message": "...", "details": {...}}}`, produced
by `exception_handler` inside DRF and by the `handler*` views outside it (unknown routes,
oversized bodies, anything that escapes a view).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class GazerError(drf_exceptions.APIException):
    """Base of every domain error: a stable code, a human message and an HTTP status.

    A DRF `APIException` too, so DRF's own checks that catch those (the browsable API's
    permission checks while it renders a page) treat a refusal as a refusal, not a 500.
    """

    code = "error"
    message = "Something went wrong."
    http_status = 400

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        http_status: int | None = None,
        details: dict[str, Any] | None = None,
    ):
        self.message = message or self.message
        self.code = code or self.code
        self.http_status = http_status or self.http_status
        self.details = details or {}
        Exception.__init__(self, self.message)

    # DRF's view of the error (status and detail), kept equal to ours.
    @property
    def status_code(self) -> int:  # type: ignore[override]
        return self.http_status

    @property
    def detail(self) -> str:  # type: ignore[override]
        return self.message

    def get_codes(self) -> str:
        return self.code

    def get_full_details(self) -> dict[str, str]:
        return {"message": self.message, "code": self.code}

    def __str__(self) -> str:
        return self.message


class BadRequest(GazerError):
    code = "bad_request"
    http_status = 400


class NotFound(GazerError):
    code = "not_found"
    message = "Not found."
    http_status = 404


class Conflict(GazerError):
    code = "conflict"
    http_status = 409


class Unauthorized(GazerError):
    code = "unauthorized"
    message = "Missing or invalid Authorization header."
    http_status = 401


class Forbidden(GazerError):
    code = "forbidden"
    message = "Invalid API key."
    http_status = 403


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"ok": False, "error": error}


# DRF exception class → our stable code.
_DRF_CODES: list[tuple[type[Exception], str]] = [
    (drf_exceptions.ParseError, "malformed_json"),
    (drf_exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (drf_exceptions.MethodNotAllowed, "method_not_allowed"),
    (drf_exceptions.NotAcceptable, "not_acceptable"),
    (drf_exceptions.NotAuthenticated, "unauthorized"),
    (drf_exceptions.AuthenticationFailed, "unauthorized"),
    (drf_exceptions.PermissionDenied, "forbidden"),
    (drf_exceptions.NotFound, "not_found"),
    (drf_exceptions.Throttled, "throttled"),
    (drf_exceptions.ValidationError, "invalid_input"),
]


def _drf_message(exc: drf_exceptions.APIException) -> tuple[str, dict[str, Any]]:
    if isinstance(exc, drf_exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, dict):
            first_field, first_errors = next(iter(detail.items()), ("", []))
            first = (
                first_errors[0] if isinstance(first_errors, list) and first_errors else first_errors
            )
            return f"{first_field}: {first}" if first_field else str(first), {"fields": detail}
        if isinstance(detail, list):
            return "; ".join(str(item) for item in detail), {}
    return str(exc.detail), {}


def exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's EXCEPTION_HANDLER: every error a view raises becomes the JSON error shape."""
    from rest_framework.views import set_rollback  # avoids a cycle through DRF settings

    set_rollback()
    headers: dict[str, str] = {}
    if isinstance(exc, GazerError):
        if exc.http_status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return Response(
            error_body(exc.code, exc.message, exc.details), status=exc.http_status, headers=headers
        )
    if isinstance(exc, Http404):
        return Response(error_body("not_found", str(exc) or "Not found."), status=404)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("payload_too_large", "Request body is too large."), status=413)
    if isinstance(exc, PermissionDenied):
        return Response(error_body("forbidden", "Permission denied."), status=403)
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("bad_request", "Bad request."), status=400)
    if isinstance(exc, drf_exceptions.APIException):
        code = next((c for cls, c in _DRF_CODES if isinstance(exc, cls)), "bad_request")
        message, details = _drf_message(exc)
        if isinstance(exc, drf_exceptions.Throttled):
            headers["Retry-After"] = str(max(1, math.ceil(exc.wait or 1)))
        if isinstance(exc, drf_exceptions.NotAuthenticated):
            headers["WWW-Authenticate"] = "Bearer"
        return Response(error_body(code, message, details), status=exc.status_code, headers=headers)
    request = context.get("request")
    logger.exception(
        "api.unexpected_error",
        extra={"request_id": getattr(request, "request_id", "-")},
    )
    return Response(
        error_body("internal_error", "An unexpected error occurred; it has been logged."),
        status=500,
    )


def handler400(request, exception=None):
    return JsonResponse(error_body("bad_request", "Bad request."), status=400)


def handler403(request, exception=None):
    return JsonResponse(error_body("forbidden", "Permission denied."), status=403)


def handler404(request, exception=None):
    return JsonResponse(
        error_body("not_found", f"No route for {request.method} {request.path}."), status=404
    )


def handler500(request):
    logger.error("http.unexpected_error", extra={"request_id": getattr(request, "request_id", "-")})
    return JsonResponse(
        error_body("internal_error", "An unexpected error occurred; it has been logged."),
        status=500,
    )
