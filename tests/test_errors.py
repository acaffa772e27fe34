"""Every kind of bad input answers with the one JSON error shape and a 4xx."""

import pytest
from rest_framework.test import APIClient

pytestmark = [pytest.mark.urls("tests.urls")]


@pytest.fixture
def client():
    return APIClient(raise_request_exception=False)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["ok"] is False
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body


def test_unknown_route_is_json_404(client):
    body = assert_error(client.get("/no/such/route"), 404, "not_found")
    assert "/no/such/route" in body["error"]["message"]


def test_unknown_route_post_is_json_404(client):
    assert_error(client.post("/nothing-here", {"a": 1}, format="json"), 404, "not_found")


def test_wrong_method_is_json_405(client):
    assert_error(client.delete("/livez"), 405, "method_not_allowed")


def test_malformed_json_is_400(client):
    response = client.post("/echo", data='{"url": "x",', content_type="application/json")
    assert_error(response, 400, "malformed_json")


def test_wrong_content_type_is_415(client):
    response = client.post("/echo", data="url=x", content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, "unsupported_media_type")


def test_oversized_body_is_413(client):
    big = '{"blob": "' + "x" * (1024 * 1024 + 10) + '"}'
    assert_error(
        client.post("/echo", data=big, content_type="application/json"), 413, "payload_too_large"
    )


def test_well_formed_json_passes_through(client):
    response = client.post("/echo", {"url": "https://x"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "received": {"url": "https://x"}}


def test_unexpected_exception_is_json_500_revealing_nothing(client, caplog):
    response = client.get("/broken", HTTP_X_REQUEST_ID="req-abc123")
    body = assert_error(response, 500, "internal_error")
    assert "secret" not in response.content.decode()
    assert response["X-Request-ID"] == "req-abc123"
    logged = [r for r in caplog.records if r.getMessage() == "api.unexpected_error"]
    assert logged and logged[0].request_id == "req-abc123" and logged[0].exc_info
    assert "traceback" not in body["error"]["message"].lower()


def test_exception_outside_drf_is_json_500(client):
    response = client.get("/plain-broken")
    assert_error(response, 500, "internal_error")
    assert "secret" not in response.content.decode()


def test_request_id_is_generated_when_absent(client):
    response = client.get("/livez")
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_home_page_renders_html(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"API documentation" in response.content


def test_openapi_schema_is_served(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/healthz" in response.json()["paths"]
