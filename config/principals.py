"""Who is calling: the trusted frontend (a request presenting `API_KEY`), a person signed
in on the site (a Django session holding their GitHub login), or an anonymous address.
Rate limits count by it (config/throttles.py) and the For You feed records exposures
only for the caller the feed belongs to."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth import get_user

# The GitHub login that signed in this session (set at sign-in, gone at sign-out).
SESSION_GITHUB_LOGIN = "gazer_github_login"


def _django_request(request):
    # DRF wraps Django's request; the session and headers are the wrapped one's.
    return getattr(request, "_request", request)


def presents_api_key(request) -> bool:
    """The caller holds `API_KEY` (compared in constant time): the trusted frontend."""
    if not settings.API_KEY:
        return False
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return False
    return hmac.compare_digest(value.strip().encode(), settings.API_KEY.encode())


def signed_in_account_id(request) -> int | None:
    """The signed-in person's account id, or None."""
    # Read from the session itself: the API authenticates nobody, and DRF sets Django's
    # `request.user` to its own (None) once it has run.
    http_request = _django_request(request)
    if not hasattr(http_request, "session"):
        return None
    user = get_user(http_request)
    return user.pk if user.is_authenticated else None


def signed_in_github_login(request) -> str | None:
    """The GitHub login of the person signed in on this session, or None."""
    if signed_in_account_id(request) is None:
        return None
    return _django_request(request).session.get(SESSION_GITHUB_LOGIN)


def acts_for(request, login: str) -> bool:
    """Whether the caller may act in `login`'s name (record their feed's exposures): the
    person themself, or the trusted frontend; anyone at all while no `API_KEY` is set (an
    open API behind no frontend)."""
    if not settings.API_KEY or presents_api_key(request):
        return True
    own = signed_in_github_login(request)
    return own is not None and own.lower() == login.lower()
