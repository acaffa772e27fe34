"""Cached drawings: a drawing is reused only for the document, view, day and history it
was drawn from, and a cache that lost it draws it again."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone

from activity.models import UserActivity
from activity.selectors import user_activity_computed_at
from stargazers.models import StarHistoryDay
from stargazers.selectors import repos as star_repo_selectors
from tests.factories import activity_store, profile_make
from web import charts, heatmap, render_cache
from workers.testing import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def person():
    """A finished profile with an activity document, under a login of its own (its repo
    names are in the star-history keys, and the cache outlives the test database)."""
    user, repos, _ = profile_make(login=f"cached-{uuid.uuid4().hex[:8]}", highlights=1)
    activity_store(user, today=timezone.now().date())
    return user, repos[0]


@pytest.fixture
def drawings(monkeypatch):
    """How many heatmaps and star histories were drawn (the real drawing, counted)."""
    counts = {"heatmap": 0, "stars": 0}
    real_heatmap, real_stars = heatmap.heatmap_render, charts.star_history_svg

    def heatmap_render(*args, **kwargs):
        counts["heatmap"] += 1
        return real_heatmap(*args, **kwargs)

    def star_history_svg(*args, **kwargs):
        counts["stars"] += 1
        return real_stars(*args, **kwargs)

    monkeypatch.setattr(heatmap, "heatmap_render", heatmap_render)
    monkeypatch.setattr(charts, "star_history_svg", star_history_svg)
    return counts


def _fragment(client, user, query: str = "") -> str:
    response = client.get(f"/u/{user.login}/heatmap{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_heatmap_is_drawn_once_per_document(client, person, drawings):
    user, _ = person
    first = _fragment(client, user)
    assert "2 active days" in first
    assert _fragment(client, user) == first
    assert drawings["heatmap"] == 1


def test_heatmap_of_a_new_activity_document_is_drawn_fresh(client, person, drawings):
    user, _ = person
    assert "2 active days" in _fragment(client, user)
    today = timezone.now().date()
    activity_store(
        user,
        today=today,
        repo_days={
            f"{user.login}/project-1": {
                (today - timedelta(days=n)).isoformat(): ["Go"] for n in (1, 2, 5)
            }
        },
    )
    fresh = _fragment(client, user)
    assert "3 active days" in fresh and "<option>Go</option>" in fresh
    assert drawings["heatmap"] == 2


def test_heatmap_modes_and_filters_are_drawn_apart(client, person, drawings):
    user, _ = person
    views = {
        "": 'class="hm hm-repos"',
        "?mode=languages": 'class="hm hm-languages"',
        f"?repo={user.login}/project-2": "2 days with commits to",
        "?language=Rust": "1 day with Rust commits",
    }
    drawn = {query: _fragment(client, user, query) for query in views}
    for query, marker in views.items():
        assert marker in drawn[query]
    assert len(set(drawn.values())) == len(views)
    # Each view again: from the cache, each still its own.
    assert {query: _fragment(client, user, query) for query in views} == drawn
    assert drawings["heatmap"] == len(views)


def test_heatmap_made_up_filter_is_drawn_but_not_kept(client, person, drawings):
    user, _ = person
    for _ in range(2):
        assert 'class="hm hm-repos"' in _fragment(client, user, "?repo=no/such-repo")
    assert drawings["heatmap"] == 2


def test_heatmap_of_another_day_is_drawn_fresh(person, drawings):
    user, _ = person
    stamp = user_activity_computed_at(user_id=user.id)
    document = UserActivity.objects.get(user=user)
    assert stamp == document.computed_at
    today = timezone.now().date()

    def draw(day: date):
        return render_cache.heatmap_drawn(
            user_id=user.id,
            stamp=stamp,
            today=day,
            mode="repos",
            repo=None,
            language=None,
            document=lambda: {"version": 1, "window_years": 2, "days": {}},
        )

    assert draw(today).end == today
    assert draw(today + timedelta(days=1)).end == today + timedelta(days=1)
    assert draw(today).end == today
    assert drawings["heatmap"] == 2


def test_heatmap_lost_from_the_cache_is_drawn_again(client, person, drawings):
    user, _ = person
    first = _fragment(client, user, "?mode=languages")
    key = render_cache.heatmap_key(
        user_id=user.id,
        stamp=user_activity_computed_at(user_id=user.id),
        today=timezone.now().date(),
        mode="languages",
        repo=None,
        language=None,
    )
    assert cache.get(key) is not None
    cache.delete(key)
    assert _fragment(client, user, "?mode=languages") == first
    assert drawings["heatmap"] == 2


def test_star_history_is_drawn_once_and_fresh_when_it_changes(client, person, drawings):
    user, repo = person
    html = client.get(f"/u/{user.login}").content.decode()
    assert f"Star history of {repo.full_name}: 33 stars" in html
    client.get(f"/u/{user.login}")
    assert drawings["stars"] == 1
    # A refresh restates one day's count: the total is the same, the curve is not.
    days = StarHistoryDay.objects.filter(repo=repo).order_by("day")
    StarHistoryDay.objects.filter(pk=days[0].pk).update(stars=days[0].stars + 1)
    StarHistoryDay.objects.filter(pk=days[1].pk).update(stars=days[1].stars - 1)
    html = client.get(f"/u/{user.login}").content.decode()
    assert f"Star history of {repo.full_name}: 33 stars" in html
    assert drawings["stars"] == 2
    StarHistoryDay.objects.create(repo=repo, day=date(2025, 12, 1), stars=7)
    html = client.get(f"/u/{user.login}").content.decode()
    assert f"Star history of {repo.full_name}: 40 stars" in html
    assert drawings["stars"] == 3


def test_star_history_lost_from_the_cache_is_drawn_again(client, person, drawings):
    user, repo = person
    first = client.get(f"/u/{user.login}").content.decode()
    version = star_repo_selectors.star_history_versions(repo_ids=[repo.pk])[repo.pk]
    key = render_cache.star_history_key(repo_id=repo.pk, full_name=repo.full_name, version=version)
    assert cache.get(key) is not None
    cache.delete(key)
    assert client.get(f"/u/{user.login}").content.decode() == first
    assert drawings["stars"] == 2


def test_pages_draw_everything_while_redis_is_away(client, person, drawings, monkeypatch):
    user, repo = person
    heatmap_html = _fragment(client, user, "?mode=languages")
    profile_html = client.get(f"/u/{user.login}").content.decode()
    # A real Redis client pointed at a port nothing listens on.
    away = RedisCache(
        f"redis://127.0.0.1:{free_port()}/0",
        {"OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}},
    )
    monkeypatch.setattr(render_cache, "cache", away)
    assert _fragment(client, user, "?mode=languages") == heatmap_html
    response = client.get(f"/u/{user.login}")
    assert response.status_code == 200
    assert f"Star history of {repo.full_name}: 33 stars" in response.content.decode()
    assert response.content.decode().count("<svg") == profile_html.count("<svg")
    # Before: languages, then the profile's default view; away: both drawn again.
    assert drawings["heatmap"] == 4 and drawings["stars"] == 2
