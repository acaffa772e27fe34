"""Per-token rate-limit state shared by every process through Redis.

Two guards per token and resource (``core``, ``graphql``):

* GitHub's own budget, read from the ``x-ratelimit-*`` headers of every response into
  the hash ``gh:rl:<token-id>:<resource>`` (limit, remaining, used, reset). A token whose
  ``remaining`` is 0 before its ``reset`` is skipped.
* Our ceiling (``GITHUB_REQUESTS_PER_HOUR``): a sliding one-hour log of the token's sent
  requests (all resources) in the sorted set ``gh:log:<token-id>``. Taking a slot is one
  Lua script, so concurrent processes can never send more than the ceiling in any hour.

Tokens appear in keys only as an HMAC under the server secret (`token_id`), never in
clear.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import redis

# Returns {1, member} when a slot was taken, else {0, earliest_time_it_frees_up}.
_TAKE = """
local now = tonumber(ARGV[1])
local ceiling = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local st = redis.call('HMGET', KEYS[1], 'remaining', 'reset')
local remaining = tonumber(st[1])
local reset = tonumber(st[2])
if remaining and reset and remaining <= 0 and reset > now then
  return {0, tostring(reset)}
end
local blocked = tonumber(redis.call('HGET', KEYS[3], 'until'))
if blocked and blocked > now then
  return {0, tostring(blocked)}
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
if redis.call('ZCARD', KEYS[2]) >= ceiling then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {0, tostring(tonumber(oldest[2]) + window)}
end
redis.call('ZADD', KEYS[2], now, ARGV[4])
redis.call('EXPIRE', KEYS[2], math.ceil(window) + 60)
if remaining and reset and reset > now then
  redis.call('HSET', KEYS[1], 'remaining', remaining - 1)
end
return {1, ARGV[4]}
"""

# A GraphQL query's points, taken before it is sent: {1} when the known budget holds them
# (all but one taken here; the request's own slot takes the last), else {0, reset}.
_RESERVE = """
local now = tonumber(ARGV[1])
local points = tonumber(ARGV[2])
local st = redis.call('HMGET', KEYS[1], 'remaining', 'reset')
local remaining = tonumber(st[1])
local reset = tonumber(st[2])
if remaining and reset and reset > now then
  if remaining < points then
    return {0, tostring(reset)}
  end
  redis.call('HSET', KEYS[1], 'remaining', remaining - (points - 1))
end
return {1, '0'}
"""

# Header values win unless they are older than what is stored (same window, lower used).
_UPDATE = """
local reset = tonumber(ARGV[4])
local used = tonumber(ARGV[3])
local st = redis.call('HMGET', KEYS[1], 'reset', 'used')
local old_reset = tonumber(st[1])
local old_used = tonumber(st[2])
if old_reset and old_reset == reset and old_used and used < old_used then
  return 0
end
if old_reset and old_reset > reset then
  return 0
end
redis.call('HSET', KEYS[1], 'limit', ARGV[1], 'remaining', ARGV[2], 'used', ARGV[3],
           'reset', ARGV[4], 'updated', ARGV[5])
redis.call('EXPIRE', KEYS[1], 7200)
return 1
"""


def token_id(token: str | None) -> str:
    """Stable, non-reversible identity of a token for Redis keys and logs.

    An HMAC keyed with the server's SECRET_KEY, not a bare hash: whoever reads the key
    names cannot confirm a guessed token without that secret.
    """
    if not token:
        return "anon"
    from django.utils.crypto import salted_hmac

    return salted_hmac("gazer.github.token_id", token, algorithm="sha256").hexdigest()[:16]


@dataclass(frozen=True)
class Slot:
    token: str | None
    tid: str
    resource: str
    member: str


@dataclass(frozen=True)
class Budget:
    """What Redis knows about one token and resource."""

    limit: int | None
    remaining: int | None
    used: int | None
    reset: int | None
    sent_last_hour: int  # by this token, all resources (our ceiling)


class RateLimitState:
    """Take slots, record headers, remember secondary-limit backoffs."""

    def __init__(self, client: redis.Redis, *, ceiling: int, window: float = 3600.0):
        self.client = client
        self.ceiling = ceiling
        self.window = window
        self._take = client.register_script(_TAKE)
        self._update = client.register_script(_UPDATE)
        self._reserve = client.register_script(_RESERVE)

    @staticmethod
    def _keys(tid: str, resource: str) -> list[str]:
        # GitHub's budget is per resource; our ceiling counts every request of the token.
        return [f"gh:rl:{tid}:{resource}", f"gh:log:{tid}", f"gh:sec:{tid}"]

    def take(self, token: str | None, resource: str) -> tuple[Slot | None, float]:
        """A slot for one request, or (None, unix time when this token frees up)."""
        tid = token_id(token)
        member = f"{time.time():.6f}:{uuid.uuid4().hex[:8]}"
        ok, value = self._take(
            keys=self._keys(tid, resource),
            args=[time.time(), self.ceiling, self.window, member],
        )
        if int(ok) == 1:
            return Slot(token, tid, resource, member), 0.0
        return None, float(value)

    def reserve(self, token: str | None, resource: str, points: int) -> tuple[bool, float]:
        """Take a query's `points` from the token's known budget before it is sent
        (GraphQL); (False, reset time) when they do not fit. The request's own slot
        (`take`) counts the last point."""
        ok, value = self._reserve(
            keys=self._keys(token_id(token), resource)[:1], args=[time.time(), max(1, points)]
        )
        return int(ok) == 1, float(value)

    def refund(self, slot: Slot) -> None:
        """A 304 costs no budget: give the ceiling slot back."""
        self.client.zrem(self._keys(slot.tid, slot.resource)[1], slot.member)

    def record(self, tid: str, headers) -> None:
        """Store the `x-ratelimit-*` headers of a response."""
        try:
            limit = int(headers["x-ratelimit-limit"])
            remaining = int(headers["x-ratelimit-remaining"])
            reset = int(headers["x-ratelimit-reset"])
        except (KeyError, TypeError, ValueError):
            return
        used = int(headers.get("x-ratelimit-used") or max(0, limit - remaining))
        resource = headers.get("x-ratelimit-resource") or "core"
        self._update(
            keys=[f"gh:rl:{tid}:{resource}"],
            args=[limit, remaining, used, reset, int(time.time())],
        )

    def secondary_hit(self, tid: str, retry_after: float | None) -> float:
        """Record a secondary limit; returns the wait (header, else 60 s × 2^n)."""
        key = self._keys(tid, "core")[2]
        n = int(self.client.hincrby(key, "n", 1))
        wait = float(retry_after) if retry_after else min(60.0 * 2 ** (n - 1), 3600.0)
        pipe = self.client.pipeline()
        pipe.hset(key, "until", time.time() + wait)
        pipe.expire(key, int(wait) + 3600)
        pipe.execute()
        return wait

    def secondary_clear(self, tid: str) -> None:
        self.client.delete(self._keys(tid, "core")[2])

    def budget(self, token: str | None, resource: str = "core") -> Budget:
        tid = token_id(token)
        keys = self._keys(tid, resource)
        pipe = self.client.pipeline()
        pipe.hgetall(keys[0])
        pipe.zcount(keys[1], time.time() - self.window, "+inf")
        state, sent = pipe.execute()

        def num(name: str) -> int | None:
            raw = state.get(name.encode())
            return int(float(raw)) if raw is not None else None

        return Budget(num("limit"), num("remaining"), num("used"), num("reset"), int(sent))
