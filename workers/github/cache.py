"""Conditional-request cache: ETag, Link and body of small GETs, kept in Redis.

Keyed by (token identity, URL, Accept). A stored ETag is sent as `If-None-Match`; a 304
answer reuses the stored body (and costs no GitHub budget).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import zlib
from dataclasses import dataclass

import redis

TTL_SECONDS = 3 * 24 * 3600
MAX_ENTRY_BYTES = 512 * 1024  # compressed; bigger bodies are simply not cached


@dataclass(frozen=True)
class Cached:
    etag: str
    link: str | None
    body: bytes


def pack(head: dict, body: bytes) -> bytes:
    """A JSON head and a compressed body in one Redis value."""
    encoded = json.dumps(head).encode()
    return len(encoded).to_bytes(4, "big") + encoded + zlib.compress(body, 6)


def unpack(raw: bytes) -> tuple[dict, bytes] | None:
    """(head, body) of a `pack`ed value; None when it cannot be read."""
    try:
        head_len = int.from_bytes(raw[:4], "big")
        return json.loads(raw[4 : 4 + head_len]), zlib.decompress(raw[4 + head_len :])
    except (ValueError, zlib.error):
        return None


class ConditionalCache:
    def __init__(self, client: redis.Redis):
        self.client = client

    @staticmethod
    def key(identity: str, url: str, accept: str) -> str:
        digest = hashlib.sha256(f"{url}\n{accept}".encode()).hexdigest()[:32]
        return f"gh:etag:{identity}:{digest}"

    def get(self, key: str) -> Cached | None:
        try:
            raw = self.client.get(key)
        except redis.RedisError:
            return None
        unpacked = unpack(raw) if raw else None
        if unpacked is None or "etag" not in unpacked[0]:
            return None
        head, body = unpacked
        return Cached(etag=head["etag"], link=head.get("link"), body=body)

    def put(self, key: str, *, etag: str, link: str | None, body: bytes) -> None:
        value = pack({"etag": etag, "link": link}, body)
        if len(value) > MAX_ENTRY_BYTES:
            return
        # The cache is an optimisation; a failed write only costs a full GET later.
        with contextlib.suppress(redis.RedisError):
            self.client.set(key, value, ex=TTL_SECONDS)
