"""One Redis client factory: one client per process, URL and timeout, shared by callers."""

from __future__ import annotations

import os

from django.conf import settings

from workers import redis_clients
from workers.github import github
from workers.redis_clients import redis_client


def test_callers_of_one_url_and_timeout_share_one_client():
    first = redis_client(settings.REDIS_URL, timeout=2.0)
    assert redis_client(settings.REDIS_URL, timeout=2) is first
    assert redis_client(settings.REDIS_URL, timeout=1.0) is not first
    assert first.ping() is True
    pool = first.connection_pool.connection_kwargs
    assert pool["socket_timeout"] == 2.0 and pool["socket_connect_timeout"] == 2.0


def test_the_github_gateway_uses_the_shared_factory():
    assert github().redis is redis_client(settings.REDIS_URL, timeout=5)


def test_a_forked_process_gets_clients_of_its_own(monkeypatch):
    parent = redis_client(settings.REDIS_URL)
    child_pid = os.getpid() + 1
    monkeypatch.setattr(redis_clients.os, "getpid", lambda: child_pid)
    child = redis_client(settings.REDIS_URL)
    assert child is not parent
    assert redis_client(settings.REDIS_URL) is child
