"""The pipeline endpoints: status codes, bodies, and what they write (no worker)."""

from __future__ import annotations

import pytest

from users.models import GitHubUser, PipelineRun, WorkItem

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/users/-bad-/login"),
        ("post", "/users/a--b/start"),
        ("post", "/users/{}/restart".format("x" * 40)),
        ("delete", "/users/bad_name"),
        ("post", "/ghost-users/bad.name"),
        ("get", "/users/-x/progress"),
        ("get", "/users/x-/data"),
    ],
)
def test_invalid_username_is_400_and_writes_nothing(api, method, path):
    response = getattr(api, method)(path)
    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False and body["error"]["code"] == "invalid_username"
    assert not GitHubUser.objects.exists() and not PipelineRun.objects.exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/users/ghosty/progress"),
        ("get", "/users/ghosty/data"),
        ("delete", "/users/ghosty"),
        ("post", "/users/ghosty/restart"),
    ],
)
def test_unknown_user_is_404_json(api, method, path):
    response = getattr(api, method)(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "user_not_found"


def test_login_shape_and_token_never_echoed(api):
    response = api.post("/users/octo/login", {"github_token": "sim_octo_topsecret"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body == {"ok": True, "status": "new", "processing": True, "data_ready": False}
    assert b"topsecret" not in response.content
    user = GitHubUser.objects.get(login="octo")
    assert user.token_encrypted and "topsecret" not in user.token_encrypted
    again = api.post("/users/octo/login")
    assert again.json()["status"] == "existing"
    progress = api.get("/users/octo/progress")
    assert b"topsecret" not in progress.content
    data = api.get("/users/octo/data")
    assert b"topsecret" not in data.content and b"token" not in data.content


def test_login_rejects_malformed_body(api):
    response = api.post("/users/octo/login", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    response = api.post("/users/octo/login", {"github_token": ["x"]}, format="json")
    assert response.status_code == 400
    assert not GitHubUser.objects.exists()


def test_ghost_conflict_and_force(api):
    created = api.post("/ghost-users/spooky")
    assert created.status_code == 201
    assert created.json()["is_ghost"] is True and created.json()["created"] is True
    conflict = api.post("/ghost-users/spooky")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "user_exists"
    forced = api.post("/ghost-users/spooky?force=true")
    assert forced.status_code == 201 and forced.json()["created"] is False
    assert api.post("/users/spooky/login").json()["status"] == "activated"


def test_start_is_idempotent_and_restart_validates_step(api):
    first = api.post("/users/starter/start")
    second = api.post("/users/starter/start")
    assert first.status_code == second.status_code == 202
    assert first.json()["run_id"] == second.json()["run_id"]
    bad = api.post("/users/starter/restart?from=nope")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "unknown_step"
    good = api.post("/users/starter/restart?from=select_highlights")
    assert good.status_code == 202 and good.json()["from_step"] == "select_highlights"
    assert good.json()["run_id"] != first.json()["run_id"]


def test_progress_and_data_before_any_step(api):
    api.post("/users/fresh/login")
    progress = api.get("/users/fresh/progress").json()
    assert progress["state"] == "queued"
    assert {i["step"] for i in progress["items"]} == {
        "fetch_profile",
        "fetch_repos",
        "select_highlights",
        "user_theme",
        "user_activity",
    }
    assert all(i["status"] == "pending" and i["scope"] == "user" for i in progress["items"])
    data = api.get("/users/fresh/data").json()
    assert data["repos"] is None and data["highlighted_repos"] == []
    assert data["user"]["is_ghost"] is False


def test_delete_removes_everything(api):
    api.post("/users/gone/login")
    response = api.delete("/users/gone")
    assert response.status_code == 200 and response.json()["deleted"] == "gone"
    assert not GitHubUser.objects.exists()
    assert not PipelineRun.objects.exists() and not WorkItem.objects.exists()
    assert api.get("/users/gone/progress").status_code == 404


def test_api_key_guards_writes(api, settings):
    settings.API_KEY = "k3y"
    assert api.post("/users/locked/login").status_code == 401
    api.credentials(HTTP_AUTHORIZATION="Bearer k3y")
    assert api.post("/users/locked/login").status_code == 200


def test_schema_documents_endpoints_and_errors(api):
    schema = api.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for path, method, codes in [
        ("/users/{login}/login", "post", {"200", "400"}),
        ("/users/{login}/start", "post", {"202", "400"}),
        ("/users/{login}/restart", "post", {"202", "400", "404"}),
        ("/users/{login}", "delete", {"200", "404"}),
        ("/ghost-users/{login}", "post", {"201", "409"}),
        ("/users/{login}/progress", "get", {"200", "404"}),
        ("/users/{login}/data", "get", {"200", "404"}),
    ]:
        assert codes <= set(paths[path][method]["responses"]), (path, method)


def test_ghost_of_a_discovered_stargazer_creates_its_profile(api):
    """A user known only from the star graph has no profile: the ghost creates one."""
    GitHubUser.objects.create(login="Stargazer-Only", state=GitHubUser.State.DISCOVERED)
    assert api.get("/users/stargazer-only/data").status_code == 404
    created = api.post("/ghost-users/stargazer-only")
    assert created.status_code == 201
    assert created.json()["created"] is True and created.json()["is_ghost"] is True
    user = GitHubUser.objects.get(login__iexact="stargazer-only")
    assert user.state == GitHubUser.State.GHOST
    assert PipelineRun.objects.filter(user=user).count() == 1
    # From then on it is an existing user like any other.
    assert api.post("/ghost-users/stargazer-only").status_code == 409
