"""Dates and times from users: the sane range every endpoint accepts, and lenient parsing for query parameters.

Metric windows, series buckets and "as of" instants do arithmetic with these values; at the edges of what Python
can represent (year 1, year 9999) that arithmetic overflows (a 500). So every date anyone sends, in a query
string, a form or a JSON body, must fall between MIN_YEAR and MAX_YEAR inclusive (qualitygov.inputs checks request
values; imports call check_range).
"""

import datetime as dt
import re

from django.utils.dateparse import parse_date, parse_datetime

MIN_YEAR = 1900
MAX_YEAR = 2199
RANGE_MESSAGE = f"dates must lie between {MIN_YEAR}-01-01 and {MAX_YEAR}-12-31"

# What a value must look like to be taken for a date in a field whose name does not say it is one: an ISO date
# (extended form, optionally signed/expanded year), an ISO week date, or a compact date-time with a 'T'.
DATE_LIKE = re.compile(
    r"^\s*[+-]?(?P<year>\d{4,6})(?:-\d{1,2}-\d{1,2}|-?W\d{2}(?:-?\d)?|\d{4}T\d)", re.IGNORECASE
)
# Field and parameter names that hold dates: as_of, from, to, since, until, expires, day, at, *_at, *_date, ...
DATE_NAME = re.compile(
    r"^(as_of|from|to|since|until|expires|day|at|date|start|end|bucket_start)$|(_at|_date|_on)$"
)


def in_range(value: dt.date | dt.datetime) -> bool:
    return MIN_YEAR <= value.year <= MAX_YEAR


def check_range(value, *, what: str = "date") -> None:
    """Raise ValueError when a parsed date/datetime lies outside the sane range."""
    if value is not None and not in_range(value):
        raise ValueError(f"{what} {value.isoformat()} is out of range: {RANGE_MESSAGE}")


_YEAR_ONLY = re.compile(r"(?<!\d)(\d{1,6})(?!\d)")


def parse_any(value: str) -> dt.date | dt.datetime | None:
    """The date or datetime a string spells in ISO 8601 (extended, basic or week form), or None."""
    text = value.strip()
    if not text or len(text) > 64:
        return None
    iso = text.replace("Z", "+00:00").replace("z", "+00:00")
    for parse in (dt.datetime.fromisoformat, dt.date.fromisoformat, parse_datetime, parse_date):
        try:
            parsed = parse(iso)
        except (ValueError, OverflowError, TypeError):
            continue
        if parsed is not None:
            return parsed
    return None


def out_of_range_year(name: str, value: str) -> int | None:
    """The year of a date in `value` that lies outside the sane range, or None (not a date, or a sane one).

    Values of date-named fields are read in every spelling Django and DRF accept; other values only when they look
    like an ISO date. A year too large for Python to parse (`99999-01-01`) counts as out of range."""
    dated_name = bool(DATE_NAME.search(name.lower())) if name else False
    if not dated_name and not DATE_LIKE.match(value):
        return None
    parsed = parse_any(value)
    if parsed is not None:
        return None if in_range(parsed) else parsed.year
    match = DATE_LIKE.match(value)
    if match:  # looks like a date but Python cannot represent it (year 0, five digits) or is not a valid day
        year = int(match.group("year"))
        return None if MIN_YEAR <= year <= MAX_YEAR else year
    if dated_name:
        # Other spellings forms accept (e.g. 01/31/0001): any 4-digit group is taken as the year.
        for group in _YEAR_ONLY.findall(value):
            if len(group) >= 4 and not MIN_YEAR <= int(group) <= MAX_YEAR:
                return int(group)
    return None
