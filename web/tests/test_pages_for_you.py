"""The For You page, read through the feed contract (`feed.services`)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from web import adapters
from web.tests.factories import profile_make

pytestmark = pytest.mark.django_db

ITEM = {
    "full_name": "someone/neat-tool",
    "name": "neat-tool",
    "owner": "someone",
    "language": "Rust",
    "blurb": "A neat tool in Rust.",
    "kind": "command-line tool",
    "keywords": ["parsing"],
    "emphasis": ["Rust"],
    "link": None,
    "gallery": [{"url": "https://img.example.org/neat.png", "alt": "The neat tool at work"}],
    "username": "someone",
    "is_ghost": True,
    "score": 0.8731,
    "reasons": ["llm", "starred_by_kindred", "a_new_signal"],
}


@pytest.fixture
def feed(monkeypatch):
    calls = {"serve": [], "rebuild": []}

    def serve(*, viewer, limit=30):
        calls["serve"].append((viewer.login, limit))
        return [ITEM]

    def rebuild(*, viewer):
        calls["rebuild"].append(viewer.login)
        return {"queued": True}

    contracts = {"feed_serve": serve, "feed_rebuild_request": rebuild}
    real = adapters._contract
    monkeypatch.setattr(
        adapters,
        "_contract",
        lambda module, name: (
            contracts.get(name) if module == "feed.services" else real(module, name)
        ),
    )
    return calls


def test_for_you_lists_items_with_author_ghost_reasons_score_and_image(client, feed):
    user, _, _ = profile_make()
    response = client.get(f"/u/{user.login}/for-you")
    assert response.status_code == 200
    html = response.content.decode()
    assert "someone/neat-tool" in html and 'href="/u/someone"' in html
    assert ">ghost</span>" in html and "score 0.87" in html
    assert "starred by kindred developers" in html and "judged a match" in html
    assert "a new signal" in html
    assert (
        'src="https://img.example.org/neat.png" alt="The neat tool at work" loading="lazy"' in html
    )
    assert feed["serve"] == [(user.login, 30)]
    assert 'action="/u/octo-dev/for-you/rebuild"' in html and "csrfmiddlewaretoken" in html
    # The profile links to the feed once the feed exists.
    assert 'href="/u/octo-dev/for-you"' in client.get(f"/u/{user.login}").content.decode()


def test_for_you_rebuild_calls_the_service_and_comes_back(client, feed):
    user, _, _ = profile_make()
    response = client.post(f"/u/{user.login}/for-you/rebuild")
    assert response.status_code == 302 and response["Location"] == f"/u/{user.login}/for-you"
    assert feed["rebuild"] == [user.login]
    assert "Rebuild queued" in client.get(response["Location"]).content.decode()


@override_settings(API_KEY="secret")
def test_for_you_rebuild_needs_staff_while_the_api_key_is_set(client, feed):
    user, _, _ = profile_make()
    html = client.get(f"/u/{user.login}/for-you").content.decode()
    assert "disabled" in html and "needs a staff login" in html
    client.post(f"/u/{user.login}/for-you/rebuild")
    assert feed["rebuild"] == []
    staff = get_user_model().objects.create_user("ops", password="pw", is_staff=True)
    client.force_login(staff)
    client.post(f"/u/{user.login}/for-you/rebuild")
    assert feed["rebuild"] == [user.login]


def test_for_you_without_the_feed_app_says_not_available(client, monkeypatch):
    monkeypatch.setattr(adapters, "_contract", lambda module, name: None)
    user, _, _ = profile_make()
    html = client.get(f"/u/{user.login}/for-you").content.decode()
    assert "The feed is not available yet." in html
    assert client.get("/u/nobody-here/for-you").status_code == 404


def test_for_you_rebuild_is_post_only(client, feed):
    user, _, _ = profile_make()
    assert client.get(f"/u/{user.login}/for-you/rebuild").status_code == 405
