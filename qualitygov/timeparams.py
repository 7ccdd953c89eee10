"""The one parser of time parameters (`as_of`, `from`, `to`) for every API endpoint and page.

All times are UTC. A datetime without a zone is UTC. A date without a time means the END of that day for `as_of`
and `to` (23:59:59.999999 UTC, so the whole day counts) and its START for `from` (00:00 UTC). Anything else is a
DomainError (400 on the API, a message on pages); an instant in the future is refused for `as_of`.
"""

import datetime as dt
import re

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from .errors import DomainError

DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
# Which end of a bare date each parameter means.
END_OF_DAY_PARAMS = ("as_of", "to")


def parse_instant(raw: str | None, *, field: str, end_of_day: bool | None = None) -> dt.datetime | None:
    """An aware UTC datetime from an ISO datetime or date (None when absent); DomainError when unparseable.

    `end_of_day` defaults from the parameter's name: True for as_of and to, False for from.
    """
    if raw in (None, ""):
        return None
    if end_of_day is None:
        end_of_day = field in END_OF_DAY_PARAMS
    raw = raw.strip()
    try:
        # A bare date first: Python 3.11's datetime.fromisoformat (behind parse_datetime) reads "2026-10-05" as
        # its midnight, which cut the last day off every `to`.
        day = parse_date(raw) if DATE_ONLY.fullmatch(raw) else None
        value = parse_datetime(raw) if day is None else None
    except (ValueError, OverflowError):
        value = day = None
    if value is None:
        if day is None:
            raise DomainError(
                f"'{raw[:40]}' is not a valid ISO date or datetime.", field=field, code="invalid_datetime"
            )
        value = dt.datetime.combine(day, dt.time.max if end_of_day else dt.time.min)
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value.astimezone(dt.UTC)


def parse_as_of(
    raw: str | None, *, field: str = "as_of", now: dt.datetime | None = None
) -> dt.datetime | None:
    """`as_of` (None = now). A date is the end of that day; today's date means now (the day is not over yet).
    A later instant is refused: figures are never computed for the future."""
    value = parse_instant(raw, field=field, end_of_day=True)
    if value is None:
        return None
    now = now or timezone.now()
    if value > now:
        if DATE_ONLY.fullmatch(raw.strip()) and value.date() == now.date():
            return now
        raise DomainError(f"{field} cannot be in the future.", field=field, code="future_as_of")
    return value


def parse_window(
    request_params, *, default_days: int, max_days: int, now: dt.datetime | None = None
) -> tuple[dt.datetime, dt.datetime]:
    """(`from`, `to`) of a series request: `to` defaults to now, `from` to `default_days` before `to`."""
    now = now or timezone.now()
    end = parse_instant(request_params.get("to"), field="to") or now
    start = parse_instant(request_params.get("from"), field="from") or end - dt.timedelta(days=default_days)
    if start >= end:
        raise DomainError("from must be before to.", field="from")
    if (end - start).days > max_days:
        raise DomainError(f"At most {max_days} days per request.", field="from")
    return start, end
