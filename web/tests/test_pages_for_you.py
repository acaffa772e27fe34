"""The For You page, served by the feed app's own services (`feed.services`)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.template.defaultfilters import floatformat
from django.test import override_settings
from django.utils.html import escape

from feed import scoring
from feed.models import FeedEntry, FeedRebuild
from repos.models import GalleryImage
from tests.factories import profile_make
from tests.signin import sign_in_as
from web import views

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """octo-dev (the viewer) and someone, a ghost whose highlights are the candidates,
    the first with two gallery images."""
    viewer, _, _ = profile_make()
    author, repos, _ = profile_make(login="someone")
    author.state = "ghost"
    author.save(update_fields=["state"])
    GalleryImage.objects.filter(repo=repos[0]).update(
        url="https://img.example.org/first.png", alt="The first project at work"
    )
    GalleryImage.objects.create(repo=repos[0], url="https://img.example.org/second.png")
    return viewer, author, repos


def test_for_you_lists_items_with_author_ghost_reasons_score_and_image(client, world):
    viewer, author, repos = world
    sign_in_as(client, viewer.login)
    response = client.get(f"/u/{viewer.login}/for-you")
    assert response.status_code == 200
    html = response.content.decode()
    # The first view built stage 1: the page shows the stored entries, best first.
    entries = list(FeedEntry.objects.filter(viewer=viewer).order_by("-score", "repo_id"))
    assert {e.repo_id for e in entries} == {repo.pk for repo in repos}
    for entry in entries:
        assert entry.repo.full_name in html
        assert f"score {floatformat(entry.score, 2)}" in html
        for reason in entry.reasons:
            assert escape(scoring.REASON_LABELS[reason]) in html
    assert html.index(entries[0].repo.full_name) < html.index(entries[1].repo.full_name)
    assert f'href="/u/{author.login}"' in html and ">ghost</span>" in html
    assert 'class="reasons"' in html
    assert (
        'src="https://img.example.org/first.png" alt="The first project at work" loading="lazy"'
        in html
    )
    assert "second.png" not in html
    assert 'action="/u/octo-dev/for-you/rebuild"' in html and "csrfmiddlewaretoken" in html
    assert 'href="/u/octo-dev/for-you"' in client.get(f"/u/{viewer.login}").content.decode()


def test_for_you_with_no_candidates_says_nothing_to_show_yet(client):
    viewer, _, _ = profile_make()
    sign_in_as(client, viewer.login)
    html = client.get(f"/u/{viewer.login}/for-you").content.decode()
    assert "Nothing to show yet" in html and 'class="card item"' not in html
    sign_in_as(client, "nobody-here")  # signed in, but no profile yet
    assert client.get("/u/nobody-here/for-you").status_code == 404


def test_for_you_rebuild_queues_one_and_comes_back(
    client, world, django_capture_on_commit_callbacks
):
    viewer, _, _ = world
    sign_in_as(client, viewer.login)
    with django_capture_on_commit_callbacks() as enqueued:
        response = client.post(f"/u/{viewer.login}/for-you/rebuild")
    assert response.status_code == 302 and response["Location"] == f"/u/{viewer.login}/for-you"
    rebuild = FeedRebuild.objects.get(viewer=viewer)
    assert rebuild.queued_at is not None and rebuild.trigger == "request"
    assert len(enqueued) == 1
    assert "Rebuild queued" in client.get(response["Location"]).content.decode()


@override_settings(API_KEY="secret")
def test_for_you_rebuild_is_the_owners_alone_staff_or_not(client, world):
    viewer, _, _ = world
    staff = get_user_model().objects.create_user("ops", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.post(f"/u/{viewer.login}/for-you/rebuild").status_code == 302  # sign in
    assert not FeedRebuild.objects.filter(viewer=viewer).exists()
    sign_in_as(client, viewer.login)
    html = client.get(f"/u/{viewer.login}/for-you").content.decode()
    assert "disabled" not in html
    # The first view queued a rebuild of its own; start from none queued.
    FeedRebuild.objects.filter(viewer=viewer).update(queued_at=None, trigger="")
    client.post(f"/u/{viewer.login}/for-you/rebuild")
    rebuild = FeedRebuild.objects.get(viewer=viewer)
    assert rebuild.queued_at is not None and rebuild.trigger == "request"


def test_for_you_rebuild_is_post_only(client, world):
    viewer, _, _ = world
    assert client.get(f"/u/{viewer.login}/for-you/rebuild").status_code == 405


def test_reason_texts_name_known_signals_and_spell_out_new_ones():
    assert views._reason_text("llm") == "judged a match for this profile"
    assert views._reason_text("starred_by_kindred") == "starred by kindred developers"
    assert views._reason_text("a_new_signal") == "a new signal"
    assert views._reason_text({"signal": "theme"}) == "fits this profile's theme"


def test_every_ranking_signal_has_a_reason_label():
    assert set(scoring.WEIGHTS) | {"llm"} == set(scoring.REASON_LABELS)
    assert all(scoring.REASON_LABELS.values())
