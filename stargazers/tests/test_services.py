"""Services of the star graph on real Postgres (no worker)."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from stargazers import services
from stargazers.models import AccountStarredSync, StarEdge, StargazerCrawl
from tests.factories import CrawlFactory, RepoFactory, UserFactory
from users.models import GitHubUser

pytestmark = pytest.mark.django_db


def _messages(client, queue: str) -> list[dict]:
    """Messages of a queue in consumption order (kombu keeps one list per priority)."""
    keys = [queue] + [f"{queue}\x06\x16{step}" for step in range(1, 10)]
    # kombu pushes on the left and pops on the right: reverse for FIFO order.
    return [json.loads(raw) for key in keys for raw in reversed(client.lrange(key, 0, -1))]


def _depth(client, queue: str) -> int:
    return len(_messages(client, queue))


def test_account_stars_sync_request_new_account_enqueues_high_on_commit(
    redis_test_client, django_capture_on_commit_callbacks
):
    redis_test_client.flushdb()
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.account_stars_sync_request(user_id=user.pk, is_new=True)
    assert _depth(redis_test_client, "high") == 0  # nothing before the commit
    for callback in callbacks:
        callback()
    (message,) = _messages(redis_test_client, "high")
    assert message["headers"]["task"] == "stargazers.account_stars_sync"
    assert message["headers"]["argsrepr"] == f"[{user.pk}, True]"


def test_account_stars_sync_request_existing_account_goes_low(
    redis_test_client, django_capture_on_commit_callbacks
):
    redis_test_client.flushdb()
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.account_stars_sync_request(user_id=user.pk, is_new=False)
    assert _depth(redis_test_client, "low") == 1
    assert _depth(redis_test_client, "high") == 0


def test_sign_in_starts_the_account_sync_through_the_users_signal(
    redis_test_client, django_capture_on_commit_callbacks
):
    """users/ announces a sign-in; the star graph's receiver queues the sync (high: new)."""
    from users.services import user_login

    redis_test_client.flushdb()
    with django_capture_on_commit_callbacks(execute=True):
        result = user_login(login="new-account")
    (message,) = [
        m
        for m in _messages(redis_test_client, "high")
        if m["headers"]["task"] == "stargazers.account_stars_sync"
    ]
    assert message["headers"]["argsrepr"] == f"[{result.user_id}, True]"


def _page(number: int, gids: list[int], *, next_url: str | None = None):
    items = [
        {
            "starred_at": f"2025-01-01T00:00:{i % 60:02d}Z",
            "user": {"login": f"sg-{g}", "id": g, "avatar_url": "", "html_url": ""},
        }
        for i, g in enumerate(gids)
    ]
    return SimpleNamespace(
        items=items,
        url=f"http://x/stargazers?page={number}",
        next_url=next_url,
        etag='W/"e"',
        page_number=number,
        not_modified=False,
    )


def test_page_store_writes_users_edges_and_cursor_in_one_go():
    crawl = CrawlFactory(status="processing", claimed_by="w1")
    page = _page(1, list(range(500, 600)), next_url="http://x/stargazers?page=2")
    stored = services.stargazer_page_store(crawl=crawl, worker="w1", page=page)
    assert stored == 100
    crawl.refresh_from_db()
    assert crawl.next_page_url == "http://x/stargazers?page=2"
    assert crawl.stargazers_stored == 100 and crawl.pages_fetched == 1
    assert StarEdge.objects.filter(repo=crawl.repo, source="stargazers").count() == 100
    discovered = GitHubUser.objects.filter(github_id__in=range(500, 600), state="discovered")
    assert discovered.count() == 100
    # The same page again (a redelivery) adds nothing.
    services.stargazer_page_store(crawl=crawl, worker="w1", page=page)
    assert StarEdge.objects.filter(repo=crawl.repo).count() == 100


def test_page_store_without_the_claim_writes_nothing():
    crawl = CrawlFactory(status="processing", claimed_by="w1")
    with pytest.raises(services.ClaimLost):
        services.stargazer_page_store(crawl=crawl, worker="w2", page=_page(1, [1, 2, 3]))
    assert not StarEdge.objects.filter(repo=crawl.repo).exists()


def test_page_store_adopts_a_user_known_by_login_only():
    existing = UserFactory(login="SG-777", github_id=None, ghost=True)
    crawl = CrawlFactory(status="processing", claimed_by="w1")
    services.stargazer_page_store(crawl=crawl, worker="w1", page=_page(1, [777]))
    existing.refresh_from_db()
    assert existing.github_id == 777 and existing.state == "ghost"
    assert StarEdge.objects.filter(repo=crawl.repo, user=existing).exists()


def test_page_store_frees_a_login_github_gave_to_another_user():
    old_holder = UserFactory(login="SG-888", github_id=1_888, ghost=True)
    crawl = CrawlFactory(status="processing", claimed_by="w1")
    services.stargazer_page_store(crawl=crawl, worker="w1", page=_page(1, [888]))
    old_holder.refresh_from_db()
    assert old_holder.login == f"SG-888~{old_holder.pk}" and old_holder.github_id == 1_888
    new_owner = GitHubUser.objects.get(github_id=888)
    assert new_owner.login == "sg-888" and new_owner.state == "discovered"
    assert StarEdge.objects.filter(repo=crawl.repo, user=new_owner).exists()
    assert not StarEdge.objects.filter(user=old_holder).exists()


def test_claim_is_won_once():
    crawl = CrawlFactory()
    assert services.stargazer_crawl_claim(repo_id=crawl.pk, worker="a") is not None
    assert services.stargazer_crawl_claim(repo_id=crawl.pk, worker="b") is None
    crawl.refresh_from_db()
    assert crawl.claimed_by == "a" and crawl.status == "processing"


def test_stale_claims_are_released_to_pending():
    old = timezone.now() - timedelta(hours=2)
    stale = CrawlFactory(status="processing", claimed_by="dead", heartbeat_at=old)
    live = CrawlFactory(status="processing", claimed_by="alive", heartbeat_at=timezone.now())
    assert services.stargazer_claims_reset_stale() == 1
    stale.refresh_from_db()
    live.refresh_from_db()
    assert stale.status == "pending" and stale.claimed_by == "" and stale.error_count == 1
    assert live.status == "processing"


def _dispatch(capture) -> int:
    with capture(execute=True):
        return services.stargazer_crawls_dispatch()


def test_dispatch_orders_by_priority_then_fewest_stars(
    redis_test_client, django_capture_on_commit_callbacks
):
    redis_test_client.flushdb()
    big = CrawlFactory(repo=RepoFactory(stars=500), priority=0)
    small = CrawlFactory(repo=RepoFactory(stars=5), priority=0)
    low = CrawlFactory(repo=RepoFactory(stars=1), priority=9)
    future = CrawlFactory(not_before=timezone.now() + timedelta(hours=1))
    done = CrawlFactory(status="completed")
    assert _dispatch(django_capture_on_commit_callbacks) == 3
    high = [m["headers"]["argsrepr"] for m in _messages(redis_test_client, "high")]
    assert high == [f"[{small.pk}]", f"[{big.pk}]"]
    assert _depth(redis_test_client, "low") == 1
    # Enqueued rows are not sent again while their messages wait.
    assert _dispatch(django_capture_on_commit_callbacks) == 0
    # A flushed broker loses the messages: the next sweep sends them again.
    redis_test_client.flushdb()
    assert _dispatch(django_capture_on_commit_callbacks) == 3
    assert {future.pk, done.pk, low.pk} - {
        c.pk for c in StargazerCrawl.objects.filter(enqueued_at__isnull=False)
    } == {future.pk, done.pk}


def test_pause_stops_dispatch_and_resume_restarts_it(
    redis_test_client, django_capture_on_commit_callbacks
):
    redis_test_client.flushdb()
    CrawlFactory()
    services.stargazers_pause(reason="test")
    assert _dispatch(django_capture_on_commit_callbacks) == 0
    assert services.stargazer_crawl_run(repo_id=StargazerCrawl.objects.get().pk, worker="w") == (
        "paused"
    )
    assert services.stargazers_resume() == 1


def test_diagnostics_record_logs_one_line_with_engine_figures(redis_test_client, caplog):
    from workers.diagnostics import diagnostics_record

    CrawlFactory(status="completed", stargazers_stored=40)
    CrawlFactory(status="restricted")
    with caplog.at_level("INFO", logger="workers.diagnostics"):
        snapshot = diagnostics_record()
    assert snapshot.repos_by_status["completed"] == 1
    assert snapshot.repos_by_status["restricted"] == 1
    assert snapshot.stargazers_found == 40
    (line,) = [r.getMessage() for r in caplog.records if "diagnostics.hourly" in r.getMessage()]
    figures = json.loads(line.split(" ", 1)[1])
    assert figures["stargazers_found"] == 40 and "queue_depths" in figures


def test_lost_account_sync_is_redispatched(redis_test_client, django_capture_on_commit_callbacks):
    redis_test_client.flushdb()
    stale = timezone.now() - timedelta(minutes=10)
    UserFactory(login="never-synced", last_login_at=stale)
    synced = UserFactory(login="synced", last_login_at=stale)
    AccountStarredSync.objects.create(user=synced, synced_at=timezone.now())
    UserFactory(login="ghosty", ghost=True, last_login_at=stale)
    assert services.accounts_sync_dispatch() == 1
    (message,) = _messages(redis_test_client, "high")
    assert message["headers"]["task"] == "stargazers.account_stars_sync"


def test_health_crawl_claims_check_degrades_on_stale_claims():
    from stargazers.health import crawl_claims_check

    assert crawl_claims_check().status == "healthy"
    CrawlFactory(status="processing", heartbeat_at=timezone.now() - timedelta(hours=3))
    check = crawl_claims_check()
    assert check.status == "degraded" and "1 claim" in check.message


def test_health_keeps_the_public_supervisor_key_for_the_crawl_claims_check():
    from stargazers.health import crawl_claims_check
    from workers import health

    assert health._checks["supervisor"] is crawl_claims_check


def test_restricted_row_reopens_for_an_account_with_its_own_token():
    other = UserFactory()
    crawl = CrawlFactory(
        status="restricted", account=other, not_before=timezone.now() + timedelta(days=7)
    )
    holder = UserFactory(token_encrypted="encrypted-token")
    services._crawls_upsert(
        repos=[(crawl.pk, 10)], account_id=holder.pk, has_token=True, priority=0, refresh=False
    )
    crawl.refresh_from_db()
    assert crawl.status == "pending" and crawl.account_id == holder.pk and crawl.not_before is None
    # Without a token of its own, an account leaves the restricted row alone.
    crawl.status = "restricted"
    crawl.save()
    services._crawls_upsert(
        repos=[(crawl.pk, 10)], account_id=other.pk, has_token=False, priority=0, refresh=True
    )
    crawl.refresh_from_db()
    assert crawl.status == "restricted" and crawl.account_id == holder.pk


def test_day_old_accounts_are_refreshed_on_the_low_queue(redis_test_client):
    redis_test_client.flushdb()
    old = UserFactory(login="old-sync")
    AccountStarredSync.objects.create(user=old, synced_at=timezone.now() - timedelta(days=2))
    fresh = UserFactory(login="fresh-sync")
    AccountStarredSync.objects.create(user=fresh, synced_at=timezone.now())
    assert services.accounts_stars_refresh_due() == 1
    (message,) = _messages(redis_test_client, "low")
    assert message["headers"]["argsrepr"] == f"[{old.pk}, False]"
    assert services.accounts_stars_refresh_due() == 0  # not re-sent within the lease


def test_revoked_account_token_falls_back_to_the_server_pool(monkeypatch):
    """GitHub refusing the account's token (401) must not fail the account's repos."""
    from stargazers.services import crawl as crawl_module
    from users.tokens import token_encrypt
    from workers.github import errors as gh_errors

    calls: list[str | None] = []

    class Gateway:
        def stargazers_page(self, full_name, *, url, etag, token, expected_stars):
            calls.append(token)
            if token:
                raise gh_errors.BadCredentials("HTTP 401 Bad credentials", status=401)
            return _page(1, [41, 42, 43])

    monkeypatch.setattr(crawl_module, "github", lambda: Gateway())
    account = UserFactory(token_encrypted=token_encrypt("revoked-token"))
    crawl = CrawlFactory(account=account, repo=RepoFactory(stars=3))
    assert services.stargazer_crawl_run(repo_id=crawl.pk, worker="w") == "completed"
    assert calls == ["revoked-token", None]
    assert StarEdge.objects.filter(repo=crawl.repo).count() == 3


def test_rate_limited_account_sync_waits_on_its_row_then_the_sweep_sends_it(
    redis_test_client, monkeypatch
):
    """No countdown to the reset: the sync's row gets `not_before`, and the account
    sweep sends the sync again once it has passed."""
    from stargazers.tasks import account_stars_sync as account_stars_sync_task
    from workers.github import errors as gh_errors

    redis_test_client.flushdb()
    reset = timezone.now() + timedelta(minutes=40)

    def limited(*, user_id, is_new):
        raise gh_errors.RateLimited(reset_at=reset)

    monkeypatch.setattr(services, "account_stars_sync", limited)
    stale = timezone.now() - timedelta(minutes=10)
    user = UserFactory(login="limited", last_login_at=stale)
    result = account_stars_sync_task.apply(args=[user.pk, True])
    assert result.successful() and result.result == 0  # no retry was scheduled
    assert AccountStarredSync.objects.get(pk=user.pk).not_before == reset
    assert services.accounts_sync_dispatch() == 0  # not due yet
    AccountStarredSync.objects.filter(pk=user.pk).update(
        not_before=timezone.now() - timedelta(seconds=1)
    )
    assert services.accounts_sync_dispatch() == 1
    (message,) = _messages(redis_test_client, "high")
    assert message["headers"]["argsrepr"] == f"[{user.pk}, True]"
