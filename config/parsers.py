"""The one JSON parser of the API: DRF's, refusing deep nesting before it recurses.

Python's `json` module recurses once per nesting level, so a body of ~1,000 nested
arrays raises `RecursionError` (a 500) instead of a parse error. The depth is measured
first, iteratively, over the text with its strings removed; past `MAX_JSON_DEPTH`
levels the body is refused with a 400 (`malformed_json`) before `json` sees it.
"""

from __future__ import annotations

import codecs
import re
from itertools import accumulate

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

# No request body of this API nests more than a few levels; 64 leaves a wide margin.
MAX_JSON_DEPTH = 64

# Escapes first (so `\"` ends no string), then whole strings (an unterminated one: to
# the end), so brackets inside strings are never counted; then everything not a bracket.
_ESCAPE = re.compile(r"\\.", re.DOTALL)
_STRING = re.compile(r'"[^"]*"?')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")  # bytes.translate deletes
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text`, counted without recursion.

    Not a validator: malformed text gets some depth, and `json` reports the error. Every
    pass is a regular expression, a bytes translation or a C-level iterator, so even a
    hostile 1 MiB body takes a small fraction of a second.
    """
    outside_strings = _STRING.sub("", _ESCAPE.sub("", text))
    # Brackets are ASCII, so no byte of a multi-byte UTF-8 character is taken for one.
    brackets = outside_strings.encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKET)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def json_too_deep(text: str, *, limit: int = MAX_JSON_DEPTH) -> bool:
    # Fewer openers than the limit cannot nest past it: no scan needed.
    if text.count("[") + text.count("{") <= limit:
        return False
    return json_depth(text) > limit


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
        if json_too_deep(text, limit=self.max_depth):
            raise ParseError(f"JSON parse error - nested deeper than {self.max_depth} levels")
        parse_constant = json.strict_constant if self.strict else None
        try:
            return json.loads(text, parse_constant=parse_constant)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
