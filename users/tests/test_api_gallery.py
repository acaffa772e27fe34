"""`/users/<u>/repos/<owner>/<repo>/gallery` (GET, POST, DELETE, PATCH): options, bad input."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from repos.models import GalleryImage, Repo, UserRepo
from users.models import GitHubUser

pytestmark = pytest.mark.django_db

# Tests that reach the simulator use a server token of their own (its own budget there).
TOKEN = "gazer-gallery-tests"


@pytest.fixture
def server_token(settings):
    settings.GITHUB_TOKENS = [TOKEN]


PATH = "/users/alice/repos/octo/cat/gallery"


@pytest.fixture
def client():
    return APIClient(raise_request_exception=False)


@pytest.fixture
def alice():
    return GitHubUser.objects.create(login="Alice", state="active")


@pytest.fixture
def repo():
    return Repo.objects.create(full_name="octo/cat", owner_login="octo", name="cat")


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["ok"] is False
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body


def gallery_urls(repo) -> list[str]:
    return list(GalleryImage.objects.filter(repo=repo).values_list("url", flat=True))


def add(client, payload, path=PATH):
    return client.post(path, payload, format="json")


# --- POST --------------------------------------------------------------------------------


def test_post_single_image_with_every_field_and_link(client, alice, repo):
    response = add(
        client,
        {
            "url": "https://example.com/screenshot.png",
            "alt": "Landing page",
            "original_url": "docs/images/shot.png",
            "title": "Build success",
            "caption": "First green pipeline",
            "is_highlight": True,
            "taken_at": 1758888612000,
            "link": True,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body == {
        "ok": True,
        "repo_id": repo.pk,
        "added": 1,
        "skipped": 0,
        "replaced": 0,
        "gallery_count": 1,
        "linked": True,
    }
    image = GalleryImage.objects.get(repo=repo)
    assert (image.url, image.alt, image.original_url, image.title, image.caption) == (
        "https://example.com/screenshot.png",
        "Landing page",
        "docs/images/shot.png",
        "Build success",
        "First green pipeline",
    )
    assert (image.is_highlight, image.taken_at, image.source) == (True, 1758888612000, "api")
    assert UserRepo.objects.get(user=alice, repo=repo).include_reason == "manual"


def test_post_defaults_original_url_highlight_and_taken_at(client, alice, repo):
    before = GalleryImage._meta.get_field("taken_at").default
    response = add(client, {"url": "https://example.com/a.png"})
    assert response.status_code == 201
    image = GalleryImage.objects.get(repo=repo)
    assert image.original_url == "https://example.com/a.png"
    assert image.is_highlight is False
    assert image.taken_at > 1_700_000_000_000 and image.taken_at != before
    assert not UserRepo.objects.exists()


def test_post_link_keeps_existing_reason(client, alice, repo):
    UserRepo.objects.create(user=alice, repo=repo, include_reason="owned")
    response = add(client, {"url": "https://example.com/a.png", "link": True})
    assert response.json()["linked"] is False
    assert UserRepo.objects.get(user=alice, repo=repo).include_reason == "owned"


def test_post_many_with_url_dedupe_default(client, alice, repo):
    add(client, {"url": "https://example.com/a.png"})
    response = add(
        client,
        {
            "images": [
                {"url": "https://example.com/a.png", "alt": "A", "taken_at": 1758794400000},
                {"url": "https://example.com/b.png", "alt": "B", "is_highlight": True},
                {"url": "https://example.com/b.png"},
            ]
        },
    )
    assert response.status_code == 201
    assert response.json() | {"repo_id": 0} == {
        "ok": True,
        "repo_id": 0,
        "added": 1,
        "skipped": 2,
        "replaced": 0,
        "gallery_count": 2,
    }
    b = GalleryImage.objects.get(repo=repo, url="https://example.com/b.png")
    assert (b.alt, b.is_highlight) == ("B", True)


def test_post_nothing_new_is_200(client, alice, repo):
    add(client, {"url": "https://example.com/a.png"})
    response = add(client, {"images": [{"url": "https://example.com/a.png"}], "dedupe": "url"})
    assert response.status_code == 200
    assert (response.json()["added"], response.json()["skipped"]) == (0, 1)


def test_post_dedupe_original_url(client, alice, repo):
    add(client, {"url": "https://cdn.example/a.png", "original_url": "docs/a.png"})
    response = add(
        client,
        {
            "images": [
                {"url": "https://mirror.example/a.png", "original_url": "docs/a.png"},
                {"url": "https://mirror.example/b.png", "original_url": "docs/b.png"},
            ],
            "dedupe": "original_url",
        },
    )
    assert (response.json()["added"], response.json()["skipped"]) == (1, 1)
    assert gallery_urls(repo) == ["https://cdn.example/a.png", "https://mirror.example/b.png"]


def test_post_dedupe_false_replaces_same_url(client, alice, repo):
    add(client, {"url": "https://example.com/a.png", "title": "old"})
    response = add(
        client,
        {
            "images": [
                {"url": "https://example.com/a.png", "title": "new"},
                {"url": "https://example.com/b.png"},
            ],
            "dedupe": False,
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["added"], body["replaced"], body["gallery_count"]) == (1, 1, 2)
    assert GalleryImage.objects.get(url="https://example.com/a.png").title == "new"


@pytest.mark.parametrize(
    ("taken_at", "expected"),
    [
        (1758888612000, 1758888612000),
        ("1758888612000", 1758888612000),
        ("2025-09-26T12:10:12Z", 1758888612000),
        ("2025-09-26T14:10:12+02:00", 1758888612000),
        ("2025-09-26T12:10:12", 1758888612000),
    ],
)
def test_post_taken_at_forms(client, alice, repo, taken_at, expected):
    response = add(client, {"url": "https://example.com/a.png", "taken_at": taken_at})
    assert response.status_code == 201, response.content
    assert GalleryImage.objects.get(repo=repo).taken_at == expected


def test_post_unknown_repo_is_fetched_from_github(client, alice, simulator, server_token):
    from workers.github import github

    full_name = github().user_repos("avery-lin", limit=5)[0]["full_name"]
    response = add(
        client,
        {"url": "https://example.com/a.png", "link": True},
        path=f"/users/alice/repos/{full_name}/gallery",
    )
    assert response.status_code == 201, response.content
    repo = Repo.objects.get(full_name__iexact=full_name)
    assert repo.github_id and repo.default_branch and response.json()["repo_id"] == repo.pk
    assert gallery_urls(repo) == ["https://example.com/a.png"]
    assert UserRepo.objects.get(user=alice, repo=repo).include_reason == "manual"
    again = add(
        client, {"url": "https://example.com/b.png"}, path=f"/users/alice/repos/{full_name}/gallery"
    )
    assert again.json()["repo_id"] == repo.pk and again.json()["gallery_count"] == 2


def test_post_repo_unknown_to_github_is_404_and_stores_nothing(
    client, alice, simulator, server_token
):
    response = add(
        client,
        {"url": "https://example.com/a.png"},
        path="/users/alice/repos/avery-lin/no-such-repo-here/gallery",
    )
    assert_error(response, 404, "repo_not_found")
    assert not Repo.objects.exists()
    assert not GalleryImage.objects.exists()


# --- GET ---------------------------------------------------------------------------------


def test_get_lists_gallery_with_sizes_when_known(client, alice, repo):
    GalleryImage.objects.create(
        repo=repo,
        url="https://e/a.png",
        original_url="docs/a.png",
        alt="A",
        is_highlight=True,
        taken_at=5,
        width=800,
        height=600,
        source="readme",
    )
    GalleryImage.objects.create(repo=repo, url="https://e/b.png", original_url="https://e/b.png")
    response = client.get("/users/ALICE/repos/Octo/Cat/gallery")
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "gallery": [
            {
                "url": "https://e/a.png",
                "alt": "A",
                "original_url": "docs/a.png",
                "title": "",
                "caption": "",
                "is_highlight": True,
                "taken_at": 5,
                "width": 800,
                "height": 600,
            },
            {
                "url": "https://e/b.png",
                "alt": "",
                "original_url": "https://e/b.png",
                "title": "",
                "caption": "",
                "is_highlight": False,
                "taken_at": 0,
            },
        ],
    }


def test_get_unknown_repo_is_404(client, alice):
    assert_error(client.get(PATH), 404, "repo_not_found")


def test_get_browsable_api_renders(client, alice, repo):
    response = client.get(PATH, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"gallery" in response.content


# --- DELETE ------------------------------------------------------------------------------


@pytest.fixture
def three(client, alice, repo):
    add(client, {"images": [{"url": f"https://e/{c}.png"} for c in "abc"]})
    return repo


def test_delete_by_repeated_query_param(client, three):
    response = client.delete(f"{PATH}?url=https://e/a.png&url=https://e/b.png&url=https://e/z.png")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "removed": 2, "gallery_count": 1}
    assert gallery_urls(three) == ["https://e/c.png"]


def test_delete_by_body_urls(client, three):
    response = client.delete(PATH, {"urls": ["https://e/a.png", "https://e/c.png"]}, format="json")
    assert response.json() == {"ok": True, "removed": 2, "gallery_count": 1}


def test_delete_by_body_url(client, three):
    response = client.delete(PATH, {"url": "https://e/b.png"}, format="json")
    assert response.json() == {"ok": True, "removed": 1, "gallery_count": 2}


def test_delete_unknown_repo_is_404(client, alice):
    assert_error(client.delete(f"{PATH}?url=https://e/a.png"), 404, "repo_not_found")


def test_delete_without_urls_is_400(client, three):
    assert_error(client.delete(PATH), 400, "missing_url")
    assert_error(client.delete(PATH, {"urls": []}, format="json"), 400, "missing_url")
    assert len(gallery_urls(three)) == 3


def test_delete_too_many_urls_is_400(client, three):
    urls = [f"https://e/{i}.png" for i in range(101)]
    assert_error(client.delete(PATH, {"urls": urls}, format="json"), 400, "too_many")
    assert len(gallery_urls(three)) == 3


def test_delete_non_http_url_is_400(client, three):
    assert_error(client.delete(f"{PATH}?url=ftp://e/a.png"), 400, "invalid_url")
    assert_error(client.delete(PATH, {"urls": ["javascript:x"]}, format="json"), 400, "invalid_url")
    assert_error(
        client.delete(PATH, {"urls": "https://e/a.png"}, format="json"), 400, "invalid_input"
    )
    assert len(gallery_urls(three)) == 3


# --- PATCH -------------------------------------------------------------------------------


def test_patch_updates_fields_of_that_image(client, three):
    response = client.patch(
        PATH,
        {
            "url": "https://e/b.png",
            "is_highlight": True,
            "title": "New title",
            "caption": "C",
            "alt": "B",
            "original_url": "docs/b.png",
            "taken_at": "2025-09-26T12:10:12Z",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ok"] is True and body["updated"] is True
    b = GalleryImage.objects.get(url="https://e/b.png")
    assert (b.is_highlight, b.title, b.caption, b.alt, b.original_url, b.taken_at) == (
        True,
        "New title",
        "C",
        "B",
        "docs/b.png",
        1758888612000,
    )
    assert GalleryImage.objects.get(url="https://e/a.png").title == ""


def test_patch_absent_url_is_404(client, three):
    response = client.patch(PATH, {"url": "https://e/z.png", "title": "x"}, format="json")
    assert_error(response, 404, "image_not_found")


def test_patch_unknown_repo_is_404(client, alice):
    response = client.patch(PATH, {"url": "https://e/a.png", "title": "x"}, format="json")
    assert_error(response, 404, "repo_not_found")


def test_patch_bad_inputs_are_400(client, three):
    assert_error(client.patch(PATH, {"title": "x"}, format="json"), 400, "missing_url")
    assert_error(client.patch(PATH, {"url": "https://e/a.png"}, format="json"), 400, "no_changes")
    assert_error(
        client.patch(PATH, {"url": "https://e/a.png", "taken_at": "soon"}, format="json"),
        400,
        "invalid_taken_at",
    )
    assert_error(
        client.patch(PATH, {"url": "https://e/a.png", "is_highlight": [1]}, format="json"),
        400,
        "invalid_input",
    )
    assert GalleryImage.objects.get(url="https://e/a.png").title == ""


# --- bad input common to all methods -----------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"url": "ftp://example.com/a.png"}, "invalid_url"),
        ({"url": "javascript:alert(1)"}, "invalid_url"),
        ({"url": "/relative.png"}, "invalid_url"),
        ({"url": 42}, "invalid_input"),
        ({"alt": "no url"}, "missing_url"),
        ({"url": None}, "missing_url"),
        ({}, "missing_url"),
        ({"images": []}, "no_images"),
        ({"images": "https://e/a.png"}, "invalid_input"),
        ({"images": [{"alt": "x"}]}, "missing_url"),
        ({"images": [{"url": "https://e/a.png"}, {"url": "data:x"}]}, "invalid_url"),
        ({"images": [{"url": f"https://e/{i}.png"} for i in range(101)]}, "too_many"),
        ({"url": "https://e/a.png", "dedupe": "title"}, "invalid_dedupe"),
        ({"url": "https://e/a.png", "dedupe": True}, "invalid_dedupe"),
        ({"url": "https://e/a.png", "taken_at": "yesterday"}, "invalid_taken_at"),
        ({"url": "https://e/a.png", "taken_at": -1}, "invalid_taken_at"),
        ({"url": "https://e/a.png", "taken_at": True}, "invalid_taken_at"),
        ({"url": "https://e/a.png", "is_highlight": "maybe"}, "invalid_input"),
        ({"url": "https://e/a.png", "title": {"x": 1}}, "invalid_input"),
        ({"url": "https://e/a.png", "link": "sure"}, "invalid_input"),
        ({"url": "https://e/" + "a" * 2000}, "invalid_input"),
        (["https://e/a.png"], "invalid_body"),
    ],
)
def test_post_bad_input_is_400_and_stores_nothing(client, alice, repo, payload, code):
    assert_error(add(client, payload), 400, code)
    assert not GalleryImage.objects.exists()
    assert not UserRepo.objects.exists()


def test_post_malformed_json_is_400(client, alice, repo):
    response = client.post(PATH, data='{"url": "https://e/a.png",', content_type="application/json")
    assert_error(response, 400, "malformed_json")
    assert not GalleryImage.objects.exists()


@pytest.mark.parametrize("method", ["get", "post", "delete", "patch"])
def test_unknown_user_is_404(client, repo, method):
    response = getattr(client, method)(
        "/users/nobody/repos/octo/cat/gallery?url=https://e/a.png",
        {"url": "https://e/a.png", "title": "x"},
        format="json",
    )
    assert_error(response, 404, "user_not_found")


def test_stargazer_only_user_has_no_gallery(client, repo):
    GitHubUser.objects.create(login="seen-starring", state="discovered")
    response = client.post(
        "/users/seen-starring/repos/octo/cat/gallery", {"url": "https://e/a.png"}, format="json"
    )
    assert_error(response, 404, "user_not_found")
    assert not repo.gallery.exists()


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/users/-alice/repos/octo/cat/gallery", "invalid_username"),
        ("/users/al--ice/repos/octo/cat/gallery", "invalid_username"),
        ("/users/" + "a" * 40 + "/repos/octo/cat/gallery", "invalid_username"),
        ("/users/alice/repos/oc_to/cat/gallery", "invalid_repo_name"),
        ("/users/alice/repos/octo/c%20t/gallery", "invalid_repo_name"),
        ("/users/alice/repos/octo/../gallery", None),
        ("/users/alice/repos/octo/" + "c" * 101 + "/gallery", "invalid_repo_name"),
    ],
)
@pytest.mark.parametrize("method", ["get", "post", "delete", "patch"])
def test_invalid_names_are_400(client, alice, repo, method, path, code):
    response = getattr(client, method)(
        path + "?url=https://e/a.png", {"url": "https://e/a.png", "title": "x"}, format="json"
    )
    if code is None:  # `..` never reaches the view: the URL is normalised away
        assert response.status_code in (400, 404)
        assert response.json()["ok"] is False
        return
    assert_error(response, 400, code)


@pytest.mark.parametrize("method", ["post", "delete", "patch"])
def test_api_key_required_for_writes_when_set(client, alice, repo, settings, method):
    settings.API_KEY = "k3y"
    response = getattr(client, method)(
        PATH + "?url=https://e/a.png", {"url": "https://e/a.png", "title": "t"}, format="json"
    )
    assert_error(response, 401, "unauthorized")
    client.credentials(HTTP_AUTHORIZATION="Bearer wrong")
    response = getattr(client, method)(
        PATH + "?url=https://e/a.png", {"url": "https://e/a.png", "title": "t"}, format="json"
    )
    assert_error(response, 403, "forbidden")
    assert not GalleryImage.objects.exists()


def test_api_key_accepted_and_get_stays_open(client, alice, repo, settings):
    settings.API_KEY = "k3y"
    assert client.get(PATH).status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Bearer k3y")
    assert add(client, {"url": "https://e/a.png"}).status_code == 201


def test_gallery_is_in_openapi_schema(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    operations = schema["paths"]["/users/{username}/repos/{owner}/{repo}/gallery"]
    assert set(operations) >= {"get", "post", "delete", "patch"}
    for method in ("post", "delete", "patch"):
        assert {"400", "401", "403", "404"} <= set(operations[method]["responses"])


# --- GitHub trouble and concurrency ------------------------------------------------------


def test_post_when_github_fails_is_503_and_stores_nothing(client, alice, simulator, server_token):
    from workers.github import github

    full_name = github().user_repos("bram-okafor", limit=5)[0]["full_name"]
    faults = {"error_rate": 1.0, "error_status": 502, "path_prefix": f"/api/v3/repos/{full_name}"}
    simulator.configure(faults=faults)
    try:
        response = add(
            client,
            {"url": "https://example.com/a.png"},
            path=f"/users/alice/repos/{full_name}/gallery",
        )
    finally:
        simulator.configure(
            faults={"error_rate": 0.0, "error_status": 502, "path_prefix": "", "drop_rate": 0.0}
        )
    assert_error(response, 503, "github_unavailable")
    assert not Repo.objects.filter(full_name__iexact=full_name).exists()
    assert not GalleryImage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_of_the_same_images_add_each_once():
    import threading

    from django.db import connection

    GitHubUser.objects.create(login="alice", state="active")
    repo = Repo.objects.create(full_name="octo/cat", owner_login="octo", name="cat")
    payload = {"images": [{"url": f"https://e/{i}.png"} for i in range(20)]}
    barrier = threading.Barrier(4)
    bodies: list[dict] = []

    def post() -> None:
        try:
            barrier.wait(timeout=10)
            response = APIClient().post(PATH, payload, format="json")
            bodies.append(response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(bodies) == 4
    assert sum(body["added"] for body in bodies) == 20
    assert sum(body["skipped"] for body in bodies) == 60
    assert GalleryImage.objects.filter(repo=repo).count() == 20
