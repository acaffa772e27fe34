"""Small deterministic helpers shared by the world model and the server."""

from __future__ import annotations

import base64
import hashlib
import random
from datetime import UTC, datetime

DAY = 86400


def rng(*parts: object) -> random.Random:
    """A random generator seeded from the given parts (stable across processes)."""
    return random.Random("|".join(str(p) for p in parts))


def h64(*parts: object) -> int:
    data = "|".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def unit(*parts: object) -> float:
    """A deterministic float in [0, 1)."""
    return h64(*parts) / 2**64


def iso(ts: int | float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_of(ts: int | float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d")


def parse_iso(value: str) -> int | None:
    """Parse an ISO 8601 timestamp or date into epoch seconds (UTC)."""
    if not value:
        return None
    v = value.strip()
    if v.endswith("Z"):
        v = v[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(v)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def node_id(kind: str, ident: object) -> str:
    """GitHub's legacy global node id encoding, e.g. ``MDQ6VXNlcjE=``."""
    raw = f"{len(kind) + 2:02d}:{kind}{ident}" if kind != "Commit" else f"06:Commit{ident}"
    if kind == "User":
        raw = f"04:User{ident}"
    elif kind == "Repository":
        raw = f"010:Repository{ident}"
    elif kind == "Organization":
        raw = f"012:Organization{ident}"
    return base64.b64encode(raw.encode()).decode()


def git_blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\x00" % len(content) + content, usedforsecurity=False).hexdigest()
