"""Requests of any shape get a JSON 4xx, never a 500 or an HTML error page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from rest_framework.test import APIClient

from config.parsers import MAX_JSON_DEPTH, json_depth, json_too_deep
from workers.testing import free_port

ROOT = Path(__file__).resolve().parent.parent
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def client():
    return APIClient(raise_request_exception=False)


def _error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["ok"] is False
    if code:
        assert body["error"]["code"] == code, body
    return body


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


# --- nesting depth ----------------------------------------------------------------------


def test_json_depth_counts_brackets_outside_strings():
    assert json_depth('{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert json_depth(r'["\"[[[", []]') == 2
    assert json_depth("1") == 0
    assert json_depth(r'{"a": "\\", "b": [[]]}') == 3
    assert json_depth("[" * 5000) == 5000  # unclosed still nests (json would recurse)
    assert json_too_deep(nested(MAX_JSON_DEPTH + 1))
    assert not json_too_deep(nested(MAX_JSON_DEPTH))
    assert not json_too_deep('["' + "[" * 5000 + '"]')


@pytest.mark.parametrize(
    "body",
    [
        "[" + ",".join(["[]"] * 350_000) + "]",
        '["' + "a" * 1_000_000 + '"]',
        '["' + '\\"' * 500_000 + '"]',
        "[" * 1_000_000,
    ],
    ids=["many-pairs", "long-string", "escapes", "unclosed"],
)
def test_depth_check_is_fast_on_a_full_size_body(body):
    import time

    started = time.process_time()
    json_too_deep(body)
    assert time.process_time() - started < 0.5


DEEP_BODY_ENDPOINTS = [
    ("post", "/users/octo/login"),
    ("post", "/users/octo/repos/acme/widget/gallery"),
    ("patch", "/users/octo/repos/acme/widget/gallery"),
    ("delete", "/users/octo/repos/acme/widget/gallery"),
    ("post", "/admin-api/workers/scale"),
    ("post", "/admin-api/users/octo/reprocess"),
    ("post", "/admin-api/repos/acme/widget/reprocess"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), DEEP_BODY_ENDPOINTS)
@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_json_is_400_on_every_json_endpoint(client, settings, method, path, depth):
    from tests.factories import CrawlFactory, RepoFactory, UserFactory

    UserFactory(login="octo")
    CrawlFactory(repo=RepoFactory(full_name="acme/widget"))
    settings.ADMIN_API_KEY = "adm1n"
    for body in (nested(depth), '{"a":' * depth + "1" + "}" * depth):
        response = getattr(client, method)(
            path, data=body, content_type="application/json", HTTP_AUTHORIZATION="Bearer adm1n"
        )
        _error(response, 400, "malformed_json")


@pytest.mark.django_db
def test_nesting_within_the_limit_still_parses(client):
    # Deep but allowed: the body parses and the view answers its own 400.
    body = json.dumps({"github_token": json.loads(nested(MAX_JSON_DEPTH - 1))})
    response = client.post("/users/octo/login", data=body, content_type="application/json")
    _error(response, 400, "invalid_input")


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["NaN", '{"github_token": Infinity}', b'{"a": "\xff"}'])
def test_nan_and_bad_utf8_stay_400(client, body):
    response = client.post("/users/octo/login", data=body, content_type="application/json")
    _error(response, 400, "malformed_json")


# --- body types -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("token", [12345, 1.5, True, ["sim_x"], {"token": "sim_x"}])
def test_login_refuses_a_github_token_that_is_not_a_string(client, token):
    from users.models import GitHubUser

    response = client.post("/users/octo/login", {"github_token": token}, format="json")
    body = _error(response, 400, "invalid_input")
    assert "github_token" in body["error"]["message"]
    assert not GitHubUser.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["[]", '"sim_x"', "42"])
def test_login_refuses_a_body_that_is_not_an_object(client, body):
    response = client.post("/users/octo/login", data=body, content_type="application/json")
    _error(response, 400, "invalid_body")


# --- the browsable API's auth errors ----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "status"), [(None, 401), ("wrong", 403), ("adm1n", 200)], ids=["none", "wrong", "ok"]
)
def test_admin_api_in_a_browser_answers_the_auth_status(client, settings, key, status):
    settings.ADMIN_API_KEY = "adm1n"
    headers = {"HTTP_ACCEPT": BROWSER_ACCEPT}
    if key:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    for path in ("/admin-api/stats/summary", "/admin-api/diagnostics", "/admin-api/repos"):
        response = client.get(path, **headers)
        assert response.status_code == status, (path, response.content[:300])


@pytest.mark.django_db
def test_admin_api_disabled_in_a_browser_is_403(client, settings):
    settings.ADMIN_API_KEY = ""
    response = client.get("/admin-api/stats/summary", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert response.status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/users/octo/repos/acme/widget/gallery",
        "/users/octo/progress",
        "/users/octo/data",
        "/users/octo/stars/progress",
    ],
)
def test_public_reads_in_a_browser_with_api_key_set_are_not_500(client, settings, path):
    settings.API_KEY = "s3cret"
    response = client.get(path, HTTP_ACCEPT=BROWSER_ACCEPT)
    assert response.status_code == 404, response.content[:300]
    json_answer = client.get(path)
    assert json_answer.status_code == 404
    assert json_answer.json()["error"]["code"] == "user_not_found"


@pytest.mark.django_db
def test_public_write_in_a_browser_without_the_key_is_401(client, settings):
    settings.API_KEY = "s3cret"
    response = client.post("/users/octo/start", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert response.status_code == 401


# --- path length through the real web server -------------------------------------------


@pytest.fixture(scope="module")
def web_server(tmp_path_factory):
    """gunicorn as the Procfile starts it (same config file), on a free port.

    Its log goes to a file: a pipe nobody reads fills up with the long paths it logs and
    blocks the server.
    """
    port = free_port()
    log_path = tmp_path_factory.mktemp("gunicorn") / "web.log"
    log = log_path.open("w")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "API_KEY": ""}
    procfile = (ROOT / "Procfile").read_text()
    assert "-c config/gunicorn_conf.py" in procfile
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "config/gunicorn_conf.py"),
            *("-b", f"127.0.0.1:{port}", "-w", "1", "--timeout", "30"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"{base}/livez", timeout=5)
            break
        except requests.RequestException:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail(f"web server did not start: {log_path.read_text()[-3000:]}")
            time.sleep(0.2)
    yield base
    server.terminate()
    server.wait(timeout=30)
    log.close()


@pytest.mark.parametrize("length", [5_000, 8_000])
@pytest.mark.parametrize(
    ("method", "template"),
    [("post", "/users/{}/login"), ("get", "/users/{}/progress"), ("delete", "/users/{}")],
)
def test_long_username_reaches_django_and_is_a_json_400(web_server, method, template, length):
    path = template.format("a" * length)
    response = requests.request(method, web_server + path, timeout=10)
    assert response.status_code == 400, response.text[:300]
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "invalid_username"


def test_request_line_beyond_8_kb_is_refused_by_gunicorn(web_server):
    response = requests.get(web_server + "/users/" + "a" * 9_000 + "/data", timeout=10)
    assert response.status_code == 414


def test_every_web_start_uses_the_gunicorn_config():
    for name in ("Procfile", "Dockerfile", "docker-compose.yml"):
        text = (ROOT / name).read_text()
        assert "config/gunicorn_conf.py" in text, name
