"""API_KEY guards mutating public endpoints; ADMIN_API_KEY guards the admin API."""

import pytest
from rest_framework.test import APIClient

pytestmark = [pytest.mark.urls("tests.urls"), pytest.mark.django_db]


@pytest.fixture
def client():
    return APIClient()


class TestApiKey:
    def test_api_key_unset_allows_writes(self, client, settings):
        settings.API_KEY = ""
        assert client.post("/echo", {"a": 1}, format="json").status_code == 200

    def test_api_key_missing_header_is_401(self, client, settings):
        settings.API_KEY = "s3cret"
        response = client.post("/echo", {"a": 1}, format="json")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert response["WWW-Authenticate"] == "Bearer"

    def test_api_key_wrong_key_is_403(self, client, settings):
        settings.API_KEY = "s3cret"
        response = client.post("/echo", {"a": 1}, format="json", HTTP_AUTHORIZATION="Bearer nope")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
        assert "s3cret" not in response.content.decode()

    def test_api_key_right_key_is_accepted(self, client, settings):
        settings.API_KEY = "s3cret"
        response = client.post("/echo", {"a": 1}, format="json", HTTP_AUTHORIZATION="Bearer s3cret")
        assert response.status_code == 200

    def test_api_key_not_needed_for_reads(self, client, settings):
        settings.API_KEY = "s3cret"
        assert client.get("/livez").status_code == 200


class TestAdminApiKey:
    def test_admin_api_unset_refuses_everything(self, client, settings):
        settings.ADMIN_API_KEY = ""
        response = client.get("/admin-api/diagnostics", HTTP_AUTHORIZATION="Bearer anything")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "admin_api_disabled"

    def test_admin_api_missing_key_is_401(self, client, settings):
        settings.ADMIN_API_KEY = "adm1n"
        response = client.get("/admin-api/diagnostics")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"

    def test_admin_api_wrong_key_is_403(self, client, settings):
        settings.ADMIN_API_KEY = "adm1n"
        response = client.get("/admin-api/diagnostics", HTTP_AUTHORIZATION="Bearer adm1m")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"

    def test_admin_api_right_key_is_accepted(self, client, settings):
        settings.ADMIN_API_KEY = "adm1n"
        response = client.get("/admin-api/diagnostics", HTTP_AUTHORIZATION="Bearer adm1n")
        assert response.status_code == 200
        assert response.json() == {"snapshots": []}

    def test_admin_api_rejects_bad_query(self, client, settings):
        settings.ADMIN_API_KEY = "adm1n"
        response = client.get("/admin-api/diagnostics?limit=0", HTTP_AUTHORIZATION="Bearer adm1n")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_input"
