"""What the OpenAPI schema says beyond the views: who needs which key, and the rules of
the path parameters (the ones the API enforces), so the docs and the answers agree.

* `securitySchemes`: `AdminKey` (bearer `ADMIN_API_KEY`, every `/admin-api/` operation)
  and `ApiKey` (bearer `API_KEY`, the mutating public operations: required when the
  server sets `API_KEY`, optional otherwise). Swagger UI's Authorize button uses them.
* Path parameters get the pattern and length their validators enforce (GitHub's
  username and repository-name rules), and every operation documents the rate-limit
  answer (429) and, where a key applies, 401 and 403, in the one error shape.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import SAFE_METHODS

from config.auth import AdminApiKey, ApiKeyForWrites
from config.throttles import throttle_scope
from workers.github import names

# The API's own path rules (workers/github/names.py; the repo key of the admin API is
# `owner/name` or a numeric GitHub id, as its URL pattern says).
REPO_KEY_PATTERN = r"^(?:[0-9]+|[A-Za-z0-9._-]+/[A-Za-z0-9._-]+)$"

SECURITY_SCHEMES = {
    "AdminKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer <ADMIN_API_KEY>`: every /admin-api/ operation "
        "(refused when the server has no ADMIN_API_KEY).",
    },
    "ApiKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer <API_KEY>`: mutating public operations, only "
        "when the server sets API_KEY (optional otherwise). Reads never need it.",
    },
}

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "ok": {"type": "boolean", "enum": [False]},
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object", "additionalProperties": {}},
            },
            "required": ["code", "message"],
        },
    },
    "required": ["ok", "error"],
}


def error_response(description: str) -> OpenApiResponse:
    """A documented error answer of a view: its body is the one error shape (`Error`,
    which `postprocess` puts in every 4xx/5xx answer without a body of its own)."""
    return OpenApiResponse(description=description)


class GazerAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, with security from our key permissions."""

    def _permission_kinds(self) -> set[type]:
        kinds: set[type] = set()
        for permission in self.view.get_permissions():
            for kind in (AdminApiKey, ApiKeyForWrites):
                if isinstance(permission, kind):
                    kinds.add(kind)
        return kinds

    def get_auth(self) -> list[dict[str, list]]:
        kinds = self._permission_kinds()
        if AdminApiKey in kinds:
            return [{"AdminKey": []}]
        if ApiKeyForWrites in kinds and self.method not in SAFE_METHODS:
            # Required when the server sets API_KEY; `{}` (no key) is accepted otherwise.
            return [{"ApiKey": []}] if settings.API_KEY else [{"ApiKey": []}, {}]
        return []

    def get_operation(self, *args, **kwargs) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is not None and throttle_scope(self.view, self.method):
            operation["responses"].setdefault(
                "429", {"description": "`throttled`: over this client's rate (Retry-After)."}
            )
        return operation


def _path_rules(name: str) -> dict[str, Any] | None:
    if name in ("login", "username", "owner", "viewer"):
        return {
            "pattern": names.USERNAME_PATTERN,
            "minLength": 1,
            "maxLength": names.USERNAME_MAX_LENGTH,
        }
    if name == "repo":
        return {
            "pattern": names.REPO_NAME_PATTERN,
            "minLength": 1,
            "maxLength": names.REPO_NAME_MAX_LENGTH,
        }
    if name == "repo_key":
        return {
            "pattern": REPO_KEY_PATTERN,
            "minLength": 1,
            "maxLength": names.USERNAME_MAX_LENGTH + 1 + names.REPO_NAME_MAX_LENGTH,
        }
    return None


def postprocess(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """SPECTACULAR_SETTINGS POSTPROCESSING_HOOKS: security schemes, path rules, errors."""
    components = result.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") != "path":
                    continue
                rules = _path_rules(parameter["name"])
                if rules:
                    parameter.setdefault("schema", {"type": "string"}).update(rules)
            responses = operation["responses"]
            if any(operation.get("security") or []):
                responses.setdefault("401", {"description": "`unauthorized`: no bearer key."})
                responses.setdefault("403", {"description": "`forbidden`: wrong key."})
            if any(p.get("in") == "path" for p in operation.get("parameters", [])):
                responses.setdefault("400", {"description": "Invalid path parameter."})
            if "requestBody" in operation:
                responses.setdefault("400", {"description": "`malformed_json` or invalid input."})
            # Every error answer without a documented body has the one error shape.
            for status, response in responses.items():
                if status[0] in "45" and "content" not in response:
                    response["content"] = {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    }
    return result
