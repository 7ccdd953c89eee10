"""Small portable SQL building blocks for the metric functions (PostgreSQL and SQLite)."""

import math

from django.db import connection
from django.db.models import Aggregate, FloatField, Func


class SecondsBetween(Func):
    """Seconds from `start` to `end` (both datetimes), as a float, in the database."""

    output_field = FloatField()
    arity = 2
    # PostgreSQL (and the default): the interval end - start, in seconds.
    template = "(EXTRACT(EPOCH FROM (%(expressions)s)))"
    arg_joiner = " - "

    def __init__(self, end, start, **extra):
        super().__init__(end, start, **extra)

    def as_sqlite(self, compiler, conn, **extra_context):
        return super().as_sql(
            compiler,
            conn,
            template="((JULIANDAY(%(expressions)s)) * 86400.0)",
            arg_joiner=") - JULIANDAY(",
            **extra_context,
        )


class PercentileCont(Aggregate):
    """PostgreSQL's percentile_cont(q) WITHIN GROUP (ORDER BY expr): linear interpolation between ranks."""

    function = "PERCENTILE_CONT"
    output_field = FloatField()
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, *, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """The same interpolation as SQL percentile_cont, for SQLite over already-aggregated values."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = math.ceil(position)
    if lower == upper:
        return float(ordered[lower])
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)
