"""The one JSON parser of the API: DRF's, refusing deep nesting before it recurses.

Python's `json` module recurses once per nesting level, so a body of ~1,000 nested
arrays raises `RecursionError` (a 500) instead of a parse error. The depth is measured
first, iteratively, over the text with its strings removed; past `MAX_JSON_DEPTH`
levels the body is refused with a 400 (`malformed_json`) before `json` sees it.
"""

from __future__ import annotations

import codecs
import re

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

# No request body of this API nests more than a few levels; 64 leaves a wide margin.
MAX_JSON_DEPTH = 64

# A JSON string (escapes included) or one bracket. Strings are matched first so the
# brackets inside them are never counted.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)


def json_depth(text: str, *, limit: int = MAX_JSON_DEPTH) -> int:
    """The deepest nesting of arrays and objects in `text` (stops counting past `limit`).

    Not a validator: malformed text gets some depth, and `json` reports the error.
    """
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        char = match.group(0)[0]
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif char in "]}":
            depth -= 1
    return deepest


class DepthLimitedJSONParser(JSONParser):
    """`application/json` bodies, refused with a ParseError when nested too deeply."""

    max_depth = MAX_JSON_DEPTH

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding") or "utf-8"
        raw = stream.read() if stream is not None else b""
        try:
            text = codecs.decode(raw, encoding) if isinstance(raw, bytes) else raw
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if json_depth(text, limit=self.max_depth) > self.max_depth:
            raise ParseError(f"JSON parse error - nested deeper than {self.max_depth} levels")
        parse_constant = json.strict_constant if self.strict else None
        try:
            return json.loads(text, parse_constant=parse_constant)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
