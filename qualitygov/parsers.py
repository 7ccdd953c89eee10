"""The API's JSON parser: bounded nesting and qualitygov.inputs' rules for every key and string, before a view.

Python's json module recurses once per nesting level: `[` x 100,000 raised RecursionError, a 500 with a traceback,
even for anonymous callers (the token endpoint parses its body). The raw text is scanned first (strings skipped)
and anything nested deeper than QUALITYGOV_MAX_JSON_DEPTH (32) is refused with 400 without being parsed.
"""

import codecs
import json
import re

from django.conf import settings
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

from . import inputs

_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def json_depth_exceeds(text: str, limit: int) -> bool:
    """True when brackets outside strings nest deeper than `limit`."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for match in _TOKENS.finditer(text):
        found = match.group()
        if found in "[{":
            depth += 1
            if depth > limit:
                return True
        elif found in "]}":
            depth -= 1
    return False


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            raw = stream.read() if stream is not None else b""
            text = codecs.decode(raw, encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - the body is not valid {encoding}.") from exc
        limit = inputs.max_json_depth()
        if json_depth_exceeds(text, limit):
            raise ParseError(f"JSON parse error - nested deeper than {limit} levels.")
        try:
            data = json.loads(text, parse_constant=self._refuse_constant) if text.strip() else None
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        bad = inputs.data_problem(data)
        if bad is not None:
            field, reason = bad
            raise ValidationError({field: [f"This value {reason}."]})
        return data

    @staticmethod
    def _refuse_constant(name):
        raise ValueError(f"{name} is not valid JSON")
