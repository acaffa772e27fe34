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
A caller is a principal, each counted apart:

* the trusted frontend: a request presenting `Authorization: Bearer <API_KEY>` (checked
  in constant time) has one bucket per scope at its own rate (`THROTTLE_RATE_FRONTEND`,
  high by default: it signs in everyone who uses the product), never an address's;
* a signed-in person (a Django session): one bucket per account and scope;
* anyone else: its address (`REMOTE_ADDR`, or the address the `NUM_PROXIES` trusted
  proxies put in `X-Forwarded-For`).

The admin API counts every caller by address. A call that changed nothing (a login
whose run was already going) gives its count back (`throttle_refund`). The counters live in
Django's cache, which is Redis, so all web processes count together. The permission
classes apply the throttle before checking a bearer key, so guessing keys is limited
too. Past the rate the answer is 429 `throttled` with `Retry-After`. Redis away: the
request is let through (and logged), like the rest of the web process that still answers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.cache import cache
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import SimpleRateThrottle

from config.principals import presents_api_key, signed_in_account_id

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


@dataclass(frozen=True)
class Principal:
    """Who a caller is, for rate limits: `frontend`, `account` or `address`."""

    kind: str
    ident: str


class ClientRateThrottle(SimpleRateThrottle):
    """One throttle class for every scope: the view declares the scope, the method decides
    whether it applies, the principal making the call picks the bucket and its rate."""

    cache_format = "throttle:%(scope)s:%(ident)s"

    def __init__(self) -> None:  # the rate is known only once the request is
        pass

    def scope_for(self, request, view) -> str | None:
        """The scope this request counts against (None: not limited)."""
        return throttle_scope(view, request.method)

    def principal(self, request) -> Principal:
        http_request = getattr(request, "_request", request)
        if self.scope != "admin":
            if presents_api_key(request):
                return Principal("frontend", "frontend")
            account = signed_in_account_id(http_request)
            if account is not None:
                return Principal("account", f"account:{account}")
        return Principal("address", self.get_ident(request))

    def get_rate(self) -> str | None:
        if self.who.kind == "frontend":
            return settings.THROTTLE_RATE_FRONTEND
        return settings.THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.who.ident}

    def allow_request(self, request, view) -> bool:
        # The permission classes call this before checking keys, and DRF calls it again
        # after them (only if the first call let the request through): count it once.
        # The mark is on Django's request, which the browsable API's cloned requests share.
        http_request = getattr(request, "_request", request)
        if getattr(http_request, "_gazer_throttle_counted", False):
            return True
        return self.allow_scope(request, view, self.scope_for(request, view))

    def allow_scope(self, request, view, scope: str | None) -> bool:
        """Count the request against `scope` for its principal; False past the rate."""
        http_request = getattr(request, "_request", request)
        self.scope = scope
        if self.scope is None:
            return True
        self.who = self.principal(request)
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        counted = None
        try:
            allowed = super().allow_request(request, view)
            counted = (self.key, self.now, self.duration)
        except (redis.RedisError, OSError):  # the cache is away: do not refuse for it
            logger.warning("throttle.cache_unavailable", exc_info=True)
            allowed = True
        if allowed:
            http_request._gazer_throttle_counted = True
            http_request._gazer_throttle_entry = counted
        return allowed


def throttle_refund(request) -> None:
    """Give back the count of a request that changed nothing (e.g. a login joining the
    run already going), so only calls that spend budget spend the caller's."""
    http_request = getattr(request, "_request", request)
    entry = getattr(http_request, "_gazer_throttle_entry", None)
    if entry is None:
        return
    key, stamp, duration = entry
    try:
        history = cache.get(key, [])
        if stamp in history:
            history.remove(stamp)
            cache.set(key, history, duration)
    except (redis.RedisError, OSError):
        logger.warning("throttle.cache_unavailable", exc_info=True)
    http_request._gazer_throttle_entry = None


def throttle_first(request, view) -> None:
    """Apply the view's throttles now (before a key check); DRF's later check is a no-op."""
    view.check_throttles(request)
