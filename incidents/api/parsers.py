"""JSON bodies bounded before they are parsed: size and nesting.

DRF's JSONParser hands the body to `json.load`, whose recursion 100,000 nested `[` turn
into a RecursionError (a 500, issue #12). The body is read up to `API_MAX_BODY_BYTES`
(413 beyond), its nesting measured by one pass over the bytes (brackets inside strings
do not count), and only then parsed.
"""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework import exceptions, parsers, status

# No request of this API nests deeper than {"components": {"id": "status"}}; a margin.
MAX_DEPTH = 16


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def depth(body: bytes) -> int:
    """How deeply the JSON arrays and objects in `body` nest (strings skipped)."""
    deepest = level = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            level += 1
            if level > deepest:
                deepest = level
                if deepest > MAX_DEPTH:
                    return deepest
        elif byte in (0x5D, 0x7D):  # ] }
            level -= 1
    return deepest


class BoundedJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise BodyTooLarge(f"The request body is over {limit} bytes.")
        if depth(body) > MAX_DEPTH:
            raise exceptions.ParseError(f"JSON nested more than {MAX_DEPTH} levels deep.")
        try:
            return json.loads(body.decode((parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET))
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
