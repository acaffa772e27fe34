"""Rate limits per client (DRF throttling), shared by every web process through Redis.

Each view declares the scope it counts against (DRF's idiom: a class attribute,
`throttle_scope = "pipeline"`); each scope has its own rate setting (requests per second,
minute, hour or day, e.g. `30/hour`):

* `pipeline` (`THROTTLE_RATE_PIPELINE`): the calls that create, restart or delete users
  (`POST /users/<u>/login|start|restart`, `DELETE /users/<u>`, `POST /ghost-users/<u>`),
  each of which spends GitHub and LLM budget;
* `write` (`THROTTLE_RATE_WRITE`): every other mutating public call (the gallery);
* `admin` (`THROTTLE_RATE_ADMIN`): every call to `/admin-api/`, reads included.

Reads (safe methods) of a public view are not limited, whatever its scope; a view with
no scope is not limited (tests/test_throttling.py checks that every mutating view has one).

A client is its address (`REMOTE_ADDR`, or the address the `NUM_PROXIES` trusted proxies
put in `X-Forwarded-For`): `ClientRateThrottle.scope_for` and `get_ident` are the places
to add other kinds of caller. The counters live in Django's cache, which is Redis, so all
web processes count together. The permission
classes apply the throttle before checking a bearer key, so guessing keys is limited
too. Past the rate the answer is 429 `throttled` with `Retry-After`. Redis away: the
request is let through (and logged), like the rest of the web process that still answers.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)

# Scopes whose reads count too (every other scope limits only mutating methods).
READS_LIMITED_SCOPES = frozenset({"admin"})


def throttle_scope(view, method: str) -> str | None:
    """The scope a call of `method` on `view` counts against, or None when not limited."""
    scope = getattr(view, "throttle_scope", None)
    if scope is None:
        return None
    if method.upper() in SAFE_METHODS and scope not in READS_LIMITED_SCOPES:
        return None
    return scope


class ClientRateThrottle(SimpleRateThrottle):
    """One throttle class for every scope: the view declares the scope, the method decides
    whether it applies, the client's address is whom it counts."""

    cache_format = "throttle:%(scope)s:%(ident)s"

    def __init__(self) -> None:  # the rate is known only once the request is
        pass

    def scope_for(self, request, view) -> str | None:
        """The scope this request counts against (None: not limited)."""
        return throttle_scope(view, request.method)

    def get_rate(self) -> str | None:
        return settings.THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view) -> bool:
        # The permission classes call this before checking keys, and DRF calls it again
        # after them (only if the first call let the request through): count it once.
        # The mark is on Django's request, which the browsable API's cloned requests share.
        http_request = getattr(request, "_request", request)
        if getattr(http_request, "_gazer_throttle_counted", False):
            return True
        self.scope = self.scope_for(request, view)
        self.rate = self.get_rate() if self.scope else None
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            allowed = super().allow_request(request, view)
        except (redis.RedisError, OSError):  # the cache is away: do not refuse for it
            logger.warning("throttle.cache_unavailable", exc_info=True)
            allowed = True
        if allowed:
            http_request._gazer_throttle_counted = True
        return allowed


def throttle_first(request, view) -> None:
    """Apply the view's throttles now (before a key check); DRF's later check is a no-op."""
    view.check_throttles(request)
