"""Concurrent operator calls on the same crawl rows wait for each other, never deadlock."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from stargazers.models import StarEdge, StargazerCrawl
from stargazers.services import operator
from stargazers.services.accounts import _crawls_upsert
from tests.factories import RepoFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True)]

ROUNDS = 3


def _run_all(jobs) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(len(jobs))

    def runner(job):
        try:
            start.wait(timeout=30)
            for _ in range(ROUNDS):
                job()
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def _world(n: int):
    # Star-graph work paused and the user not an account: nothing is dispatched to a
    # worker that may be running, so only the calls under test touch these rows.
    operator.stargazers_pause(reason="concurrency test")
    user = UserFactory(login="busy-stars", ghost=True)
    repos = [RepoFactory(stars=i) for i in range(n)]
    # Rows stored in the reverse of their id order: a scan in storage order then meets
    # them opposite to the id order the accounts' upsert locks them in.
    for repo in reversed(repos):
        StargazerCrawl.objects.create(repo=repo, repo_stars=repo.stargazers_count)
    StarEdge.objects.bulk_create(
        [StarEdge(repo=repo, user=user, source=StarEdge.Source.STARRED) for repo in repos]
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {StargazerCrawl._meta.db_table}")
    return user, repos


def _upsert(user, pairs):
    _crawls_upsert(repos=pairs, account_id=user.pk, has_token=False, priority=2, refresh=True)


def _lock_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def test_user_reprocess_waits_for_an_upsert_holding_the_first_row(redis_test_client):
    """An account's upsert holds the lowest row; the reprocess must wait holding nothing,
    so when the upsert goes on to the highest row it is free (no lock cycle)."""
    user, repos = _world(60)
    low, high = (repos[0].pk, 0), (repos[-1].pk, 59)
    held, go_on = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def account_sync():
        try:
            with transaction.atomic():
                _upsert(user, [low])
                held.set()
                go_on.wait(timeout=30)
                _upsert(user, [high])
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    def reprocess():
        try:
            operator.user_crawls_reprocess(login=user.login, force=True)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    sync_thread = threading.Thread(target=account_sync)
    sync_thread.start()
    assert held.wait(timeout=30)
    reprocess_thread = threading.Thread(target=reprocess)
    reprocess_thread.start()
    deadline = time.monotonic() + 20
    while _lock_waiters() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    go_on.set()
    sync_thread.join(timeout=60)
    reprocess_thread.join(timeout=60)
    assert errors == [], [repr(e) for e in errors]
    assert StargazerCrawl.objects.filter(status="pending").count() == len(repos)


def test_concurrent_user_reprocess_and_account_upserts_never_deadlock(redis_test_client):
    user, repos = _world(150)
    pairs = [(repo.pk, repo.stargazers_count) for repo in repos]

    def reprocess():
        operator.user_crawls_reprocess(login=user.login, force=True)

    def upsert():
        with transaction.atomic():
            _upsert(user, pairs)

    errors = _run_all([reprocess] * 6 + [upsert] * 6)
    assert errors == [], [repr(e) for e in errors]
    assert StargazerCrawl.objects.filter(status="pending").count() == len(repos)
