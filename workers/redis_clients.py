"""The one place Redis clients are made.

One client (and so one connection pool) per process, URL and socket timeout, shared by
every caller: the GitHub gateway's budgets and cache, health probes, worker liveness, the
star graph's leases. Keyed by process too, so a forked worker never shares its parent's
sockets. No Django here: the LLM worker's liveness beacon uses it as well.
"""

from __future__ import annotations

import os
import threading

import redis

_CLIENTS: dict[tuple[int, str, float], redis.Redis] = {}
_LOCK = threading.Lock()


def redis_client(url: str, *, timeout: float = 1.0) -> redis.Redis:
    """The shared client of `url` whose connects and reads give up after `timeout` s."""
    key = (os.getpid(), url, float(timeout))
    with _LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            client = redis.Redis.from_url(
                url, socket_connect_timeout=timeout, socket_timeout=timeout
            )
            _CLIENTS[key] = client
        return client
