"""Gallery input and output serializers, shared by the gallery endpoint's methods.

Input fields accept epoch ms or ISO dates for `taken_at` and a `dedupe` of "url",
"original_url" or false, and refuse the rest with a precise error
code; `gallery_input_validate` turns the first error into the matching domain error.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from config.errors import BadRequest
from repos.errors import InvalidUrl, TooMany
from workers.timestamps import timestamp_parse

MAX_ITEMS = 100
MAX_TAKEN_AT = 2**63 - 1


# --- fields ------------------------------------------------------------------------------


class HttpUrlField(serializers.CharField):
    """An absolute http(s) URL (the only kind a gallery stores)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 2000)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("Expected a URL string.", code="invalid")
        value = super().to_internal_value(data)
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc or " " in value:
            raise serializers.ValidationError(
                "Only absolute http(s) URLs are accepted.", code="invalid_url"
            )
        return value


@extend_schema_field(
    {
        "oneOf": [{"type": "integer", "minimum": 0}, {"type": "string"}],
        "description": "Epoch milliseconds, a string of digits, or an ISO 8601 date-time; "
        "defaults to now.",
        "nullable": True,
    }
)
class TakenAtField(serializers.Field):
    """Epoch ms from a number, a digit string or an ISO date-time (null: now)."""

    def to_internal_value(self, data: Any) -> int:
        value: int | None = None
        if isinstance(data, bool):
            value = None
        elif isinstance(data, int | float):
            value = int(data) if math.isfinite(data) else None
        elif isinstance(data, str):
            text = data.strip()
            if text.isdigit():
                value = int(text)
            else:
                moment = timestamp_parse(text)
                if moment is not None:
                    value = int(moment.timestamp() * 1000)
        if value is None or not 0 <= value <= MAX_TAKEN_AT:
            raise serializers.ValidationError(
                "taken_at must be epoch milliseconds, a digit string or an ISO date-time.",
                code="invalid_taken_at",
            )
        return value

    def to_representation(self, value: int) -> int:
        return value


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "enum": ["url", "original_url"]},
            {"type": "boolean", "enum": [False]},
        ],
        "nullable": True,
        "default": "url",
        "description": '"url" (default): skip images whose URL is already in the gallery; '
        '"original_url": skip those whose original_url is; false: no skipping, an image '
        "whose URL is already there replaces that entry.",
    }
)
class DedupeField(serializers.Field):
    def to_internal_value(self, data: Any) -> str | None:
        if data is False or data is None:
            return None
        if data in ("url", "original_url"):
            return data
        raise serializers.ValidationError(
            'dedupe must be "url", "original_url" or false.', code="invalid_dedupe"
        )

    def to_representation(self, value: str | None) -> str | None:
        return value


class BoundedListField(serializers.ListField):
    """A list refused with `too_many` before its items are validated."""

    def to_internal_value(self, data: Any) -> list:
        if isinstance(data, list) and self.max_length is not None and len(data) > self.max_length:
            raise serializers.ValidationError(
                f"At most {self.max_length} items per request.", code="too_many"
            )
        return super().to_internal_value(data)


# --- input validation --------------------------------------------------------------------


def _first_error(errors: Any, path: tuple = ()) -> tuple[tuple, ErrorDetail | None]:
    if isinstance(errors, dict):
        for key, value in errors.items():
            found = _first_error(value, (*path, key))
            if found[1] is not None:
                return found
    elif isinstance(errors, list):
        for index, value in enumerate(errors):
            if isinstance(value, ErrorDetail):
                return path, value
            found = _first_error(value, (*path, index) if not isinstance(value, str) else path)
            if found[1] is not None:
                return found
    elif isinstance(errors, ErrorDetail):
        return path, errors
    return path, None


def gallery_input_validate(
    serializer_class: type[serializers.Serializer], data: Any
) -> dict[str, Any]:
    """Validated data, or the first error raised as a GazerError with a precise code."""
    if not isinstance(data, dict):
        raise BadRequest("The JSON body must be an object.", code="invalid_body")
    serializer = serializer_class(data=data)
    if serializer.is_valid():
        return serializer.validated_data
    path, detail = _first_error(serializer.errors)
    field = ".".join(str(part) for part in path)
    code = getattr(detail, "code", None) or "invalid"
    message = f"{field}: {detail}" if field else str(detail)
    details = {"field": field, "fields": serializer.errors}
    if code == "invalid_url":
        raise InvalidUrl(message, details=details)
    if code == "too_many":
        raise TooMany(message, details=details)
    if code in ("invalid_dedupe", "invalid_taken_at"):
        raise BadRequest(message, code=code, details=details)
    if code in ("required", "null") and path and path[-1] in ("url", "urls"):
        raise BadRequest(message, code="missing_url", details=details)
    if code == "empty" and path and path[0] == "images":
        raise BadRequest("images: give at least one image.", code="no_images", details=details)
    if code == "empty":
        raise BadRequest(message, code="missing_url", details=details)
    raise BadRequest(message, code="invalid_input", details=details)


class GalleryImageOut(serializers.Serializer):
    """A gallery image as every answer shows it (the gallery API and the profile data);
    `width` and `height` only when known."""

    url = serializers.URLField()
    alt = serializers.CharField()
    original_url = serializers.CharField()
    title = serializers.CharField()
    caption = serializers.CharField()
    is_highlight = serializers.BooleanField()
    taken_at = serializers.IntegerField(help_text="Epoch milliseconds.")
    width = serializers.IntegerField(required=False, help_text="Pixels, when known.")
    height = serializers.IntegerField(required=False, help_text="Pixels, when known.")

    def to_representation(self, instance: Any) -> dict[str, Any]:
        row = super().to_representation(instance)
        if row.get("width") is None or row.get("height") is None:
            row.pop("width", None)
            row.pop("height", None)
        return row


class GalleryImageIn(serializers.Serializer):
    url = HttpUrlField()
    alt = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")
    original_url = serializers.CharField(
        max_length=2000, allow_blank=True, required=False, help_text="Defaults to url."
    )
    title = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")
    caption = serializers.CharField(max_length=5000, allow_blank=True, required=False, default="")
    is_highlight = serializers.BooleanField(required=False, default=False)
    taken_at = TakenAtField(required=False, allow_null=True, default=None)
