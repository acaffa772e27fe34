"""Answers a unit of work already received, kept for its retries.

A step that fails halfway (a 502 on its fortieth request) is run again later; the
answers it had already received are kept here, so its retry sends only the requests
that had not been answered. A unit of work opens a scope (`responses_kept(scope)`);
every answer the gateway returns inside it is stored under the scope in one Redis hash,
and the same request inside the same scope is answered from there without being sent.
The owner drops the scope (`responses_drop`) once the work is done; the hash expires by
itself otherwise. A scope names one attempt at the work (e.g. a step in one run), so a
new run reads GitHub afresh. Losing the hash (a Redis restart) only costs requests.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

import redis

from .cache import pack, unpack

TTL_SECONDS = 8 * 3600  # past the pipeline's transient horizon (6 h by default)
MAX_ENTRY_BYTES = 1024 * 1024  # compressed; a bigger answer is simply asked again

_scope: contextvars.ContextVar[str | None] = contextvars.ContextVar("gh_memo_scope", default=None)


@dataclass(frozen=True)
class Kept:
    status: int
    etag: str | None
    link: str | None
    body: bytes


def current_scope() -> str | None:
    return _scope.get()


@contextlib.contextmanager
def responses_kept(scope: str) -> Iterator[None]:
    """Inside this block, the gateway keeps every answer under `scope` and reuses it."""
    token = _scope.set(scope)
    try:
        yield
    finally:
        _scope.reset(token)


def _key(scope: str) -> str:
    return f"gh:memo:{scope}"


def fingerprint(method: str, url: str, accept: str, identity: str, json_body) -> str:
    body = json.dumps(json_body, sort_keys=True) if json_body is not None else ""
    raw = f"{method}\n{url}\n{accept}\n{identity}\n{body}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


class ResponseMemo:
    def __init__(self, client: redis.Redis):
        self.client = client

    def get(self, scope: str, field: str) -> Kept | None:
        try:
            raw = self.client.hget(_key(scope), field)
        except redis.RedisError:
            return None
        unpacked = unpack(raw) if raw else None
        if unpacked is None or "status" not in unpacked[0]:
            return None
        head, body = unpacked
        return Kept(head["status"], head.get("etag"), head.get("link"), body)

    def put(self, scope: str, field: str, kept: Kept) -> None:
        value = pack({"status": kept.status, "etag": kept.etag, "link": kept.link}, kept.body)
        if len(value) > MAX_ENTRY_BYTES:
            return
        # An optimisation: a failed write only costs the request again on a retry.
        with contextlib.suppress(redis.RedisError):
            pipe = self.client.pipeline()
            pipe.hset(_key(scope), field, value)
            pipe.expire(_key(scope), TTL_SECONDS)
            pipe.execute()

    def drop(self, scope: str) -> None:
        with contextlib.suppress(redis.RedisError):
            self.client.delete(_key(scope))
