"""Text hygiene shared by every app: the one rule for control characters, and safe download file names.

Short text (versions, keys, names, titles, components, usernames, ...) is one line of printable text: any control
character (C0 including tab, CR and LF, DEL, C1) or a Unicode line/paragraph separator is refused. Long text
(descriptions, comments, post-mortems, failure messages, ...) may hold tabs and line breaks but no other control
character. A CR/LF in a release version used to end up in a Content-Disposition header (a 500 for every member)
and in alert e-mail subjects; NUL cannot be stored by PostgreSQL at all.
"""

import re

from django.core.exceptions import ValidationError

SHORT_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
LONG_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
SHORT_MESSAGE = "must be a single line without control characters (line breaks, tabs, NUL, ...)"
LONG_MESSAGE = "must not contain control characters (NUL, escape, ...); tabs and line breaks are fine"


def _describe(char: str) -> str:
    return {"\n": "a line feed", "\r": "a carriage return", "\t": "a tab", "\x00": "NUL"}.get(
        char, f"U+{ord(char):04X}"
    )


def short_text_problem(value: str) -> str | None:
    """Why `value` is not acceptable as short text, or None."""
    found = SHORT_FORBIDDEN.search(value)
    return f"{SHORT_MESSAGE}; found {_describe(found.group())}" if found else None


def long_text_problem(value: str) -> str | None:
    found = LONG_FORBIDDEN.search(value)
    return f"{LONG_MESSAGE}; found {_describe(found.group())}" if found else None


def single_line(value) -> None:
    """Django validator for short text fields."""
    if isinstance(value, str):
        problem = short_text_problem(value)
        if problem:
            raise ValidationError(f"This field {problem}.", code="control_characters")


_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(*parts, ext: str, max_length: int = 120) -> str:
    """A download file name built from user text: ASCII letters, digits, dot, dash and underscore only, parts joined
    by '-', never starting with a dot, bounded in length. `safe_filename("readiness", "PAY", "2.4.0", ext="pdf")`
    is `readiness-PAY-2.4.0.pdf`; CR/LF, quotes, slashes and non-ASCII become '_'."""
    slugs = []
    for part in parts:
        slug = _UNSAFE_FILENAME.sub("_", str(part)).strip("._-")
        if slug:
            slugs.append(slug)
    stem = "-".join(slugs)[: max_length - len(ext) - 1].rstrip("._-") or "download"
    return f"{stem}.{ext}"
