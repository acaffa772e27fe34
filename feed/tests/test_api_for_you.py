"""GET and POST /for-you/<viewer>: shape, limit validation and errors."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from feed.models import FeedRebuild
from tests.factories import RepoFactory, UserFactory, highlight

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def world():
    viewer = UserFactory(login="viewer")
    highlight(viewer, RepoFactory(full_name="viewer/mine"))
    ada = UserFactory(login="ada")
    highlight(ada, *[RepoFactory(full_name=f"ada/r{i}", keywords=["k"]) for i in range(40)])
    return viewer


def test_get_serves_thirty_by_default_with_the_item_shape(api, world):
    response = api.get("/for-you/viewer")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["count"] == 30 and len(body["repos"]) == 30
    item = body["repos"][0]
    for key in ("blurb", "keywords", "emphasis", "kind", "link", "gallery", "username",
                "is_ghost", "score", "reasons"):  # fmt: skip
        assert key in item
    assert item["username"] == "ada"


@pytest.mark.parametrize("limit", ["1", "100"])
def test_get_limit_bounds_accepted(api, world, limit):
    body = api.get(f"/for-you/viewer?limit={limit}").json()
    assert body["count"] == min(int(limit), 40)


@pytest.mark.parametrize("bad", ["0", "-1", "101", "abc", "1.5", "1e3", "", "%205", "1,2"])
def test_every_bad_limit_is_a_400_naming_the_range(api, world, bad):
    response = api.get(f"/for-you/viewer?limit={bad}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_limit" and "1 to 100" in error["message"]


def test_unknown_viewer_404_invalid_username_400_other_methods_405(api, world):
    assert api.get("/for-you/nobody-here").status_code == 404
    assert api.get("/for-you/-bad-").json()["error"]["code"] == "invalid_username"
    assert api.post("/for-you/nobody-here").status_code == 404
    for method in ("put", "patch", "delete"):
        response = getattr(api, method)("/for-you/viewer")
        assert response.status_code == 405 and response.json()["ok"] is False


def test_post_answers_202_with_where_to_follow(api, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post("/for-you/viewer")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued" and body["follow"] == "/for-you/viewer/rebuild"
    assert body["rebuild"]["queued"] is True
    assert len(callbacks) == 1
    assert api.post("/for-you/viewer?wait=maybe").status_code == 400
    follow = api.get(body["follow"]).json()
    assert follow["queued"] is True and follow["username"] == "viewer"
    assert FeedRebuild.objects.filter(viewer=world, queued_at__isnull=False).count() == 1


def test_openapi_documents_both_methods_and_every_error(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    path = schema["paths"]["/for-you/{viewer}"]
    assert {"200", "400", "404", "405"} <= set(path["get"]["responses"])
    assert {"200", "202", "400", "404", "405"} <= set(path["post"]["responses"])
    assert "/for-you/{viewer}/rebuild" in schema["paths"]


def test_browsable_api_renders(api, world):
    response = api.get("/for-you/viewer?limit=2", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and b"ada/r" in response.content


def test_command_prints_the_feed_as_a_table(world, capsys):
    call_command("for_you", "viewer", "--limit", "3")
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["repo", "author", "score", "reasons"]
    assert len(out) == 5 and out[2].startswith("ada/r")
    with pytest.raises(Exception, match="invalid_limit"):
        call_command("for_you", "viewer", "--limit", "0")


def test_get_answers_json_for_any_capitalisation_of_the_viewer(api, world):
    response = api.get("/for-you/VIEWER?limit=3")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    body = response.json()
    assert body["username"] == "viewer" and body["count"] == 3
    assert len(body["repos"]) == 3
    assert all(item["full_name"].startswith("ada/r") for item in body["repos"])


def _exposures(viewer) -> int:
    from feed.models import FeedExposure

    return FeedExposure.objects.filter(viewer=viewer).count()


def test_with_api_key_set_only_the_frontend_and_the_viewer_record_exposures(
    api, world, settings, django_user_model
):
    from tests.signin import sign_in_as

    settings.API_KEY = "front-key"
    stranger = api.get("/for-you/viewer?limit=5")
    assert stranger.status_code == 200 and stranger.json()["count"] == 5
    assert _exposures(world) == 0  # shown to a stranger, recorded in nobody's name

    other = APIClient()
    sign_in_as(other, "ada")  # someone else, signed in
    assert other.get("/for-you/viewer?limit=5").status_code == 200
    assert _exposures(world) == 0

    frontend = api.get("/for-you/viewer?limit=5", HTTP_AUTHORIZATION="Bearer front-key")
    assert frontend.json()["repos"] == stranger.json()["repos"]
    assert _exposures(world) == 5

    me = APIClient()
    sign_in_as(me, "Viewer")
    assert me.get("/for-you/viewer?limit=7").status_code == 200
    assert _exposures(world) > 5  # fatigue moved the shown ones down: new items recorded


def test_without_api_key_every_caller_records_as_the_open_api_always_did(api, world, settings):
    settings.API_KEY = ""
    api.get("/for-you/viewer?limit=4")
    assert _exposures(world) == 4
