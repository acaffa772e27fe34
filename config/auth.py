"""Bearer-key permissions. Keys are compared in constant time and never logged; the
rate limits are applied before any key is looked at."""

from __future__ import annotations

import hmac

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS, BasePermission

from config.errors import Forbidden, Unauthorized
from config.throttles import throttle_first


def _bearer(request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _check(request, expected: str) -> None:
    presented = _bearer(request)
    if presented is None:
        raise Unauthorized()
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise Forbidden()


class ApiKeyForWrites(BasePermission):
    """Mutating public endpoints need `Bearer <API_KEY>` when API_KEY is set.

    Rate limits (config/throttles.py) apply first, so wrong keys count too.
    """

    def has_permission(self, request, view) -> bool:
        throttle_first(request, view)
        if request.method in SAFE_METHODS or not settings.API_KEY:
            return True
        _check(request, settings.API_KEY)
        return True


class AdminApiKey(BasePermission):
    """The admin API needs `Bearer <ADMIN_API_KEY>` and refuses everything when unset."""

    def has_permission(self, request, view) -> bool:
        throttle_first(request, view)
        if not settings.ADMIN_API_KEY:
            raise Forbidden(
                "The admin API is disabled: ADMIN_API_KEY is not set.", code="admin_api_disabled"
            )
        _check(request, settings.ADMIN_API_KEY)
        return True
