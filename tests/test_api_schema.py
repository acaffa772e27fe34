"""The OpenAPI schema is true to the answers: schemathesis calls every operation of the
live schema (`/api/schema/`, through the WSGI application, with the admin key) and checks
that no answer is a server error and every answer matches what the schema documents
for its status code."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

ADMIN_KEY = "schema-admin-key"
# Generated examples per operation: enough to vary every parameter, few enough that the
# whole schema run stays within seconds.
MAX_EXAMPLES = 8


def _live_schema():
    from config.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/schema/", application)


schema = _live_schema()


@pytest.fixture(autouse=True)
def _live_app(settings, simulator, monkeypatch):
    from celery.app.control import Control
    from django.core import signals
    from django.db import close_old_connections

    settings.ADMIN_API_KEY = ADMIN_KEY
    settings.API_KEY = ""

    # No worker runs here, so a broadcast would only wait out its reply timeout (each
    # costs a second or more): answer at once with no replies, as no worker would.
    def no_worker_replies(self, command, *args, reply=False, **kwargs):
        return [] if reply else None

    monkeypatch.setattr(Control, "broadcast", no_worker_replies)
    # As Django's test client does: calls through the WSGI application keep the test's
    # database connection (and its transaction) open.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_the_schema_covers_every_operation_and_declares_the_keys():
    raw = schema.raw_schema
    operations = [(m, p) for p, ops in raw["paths"].items() for m in ops if m != "parameters"]
    assert len(operations) >= 34
    assert set(raw["components"]["securitySchemes"]) == {"AdminKey", "ApiKey"}
    for method, path in operations:
        operation = raw["paths"][path][method]
        if path.startswith("/admin-api/"):
            assert operation["security"] == [{"AdminKey": []}], (method, path)
        elif method in ("post", "patch", "delete"):
            assert operation["security"] == [{"ApiKey": []}, {}], (method, path)
        else:
            assert not operation.get("security") or operation["security"] == [{}]
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter["schema"].get("pattern"), (method, path, parameter)
                assert parameter["schema"].get("maxLength"), (method, path, parameter)


HEALTH_PATHS = ("/health", "/healthz", "/readyz", "/livez")


def test_every_error_answer_has_the_one_error_schema():
    raw = schema.raw_schema
    components = raw["components"]["schemas"]
    assert [name for name in components if "error" in name.lower()] == ["Error"]
    assert components["Error"]["required"] == ["ok", "error"]
    errors = 0
    for path, operations in raw["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                # The health probes answer 503 with their own report, not an error.
                if status[0] in "45" and path not in HEALTH_PATHS:
                    errors += 1
                    body = response["content"]["application/json"]["schema"]
                    assert body == {"$ref": "#/components/schemas/Error"}, (method, path, status)
    assert errors >= 100


def test_the_schema_is_valid_openapi():
    from drf_spectacular.validation import validate_schema

    validate_schema(schema.raw_schema)


def test_with_api_key_set_mutating_public_operations_require_the_key(settings):
    from rest_framework.test import APIClient

    settings.API_KEY = "s3cret"
    raw = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert raw["paths"]["/users/{login}/login"]["post"]["security"] == [{"ApiKey": []}]
    assert not raw["paths"]["/users/{login}/data"]["get"].get("security")
    assert raw["paths"]["/admin-api/stats"]["get"]["security"] == [{"AdminKey": []}]


@pytest.mark.django_db
@schema.parametrize()
@hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case):
    response = case.call(headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    checks = [response_schema_conformance]
    documented = case.operation.definition.raw.get("responses", {})
    # A documented 503 (health: a service is away) is an answer, not a server error.
    if not (response.status_code == 503 and "503" in documented):
        checks.append(not_a_server_error)
    case.validate_response(response, checks=checks)
