"""Measures as metrics (contract, "External evidence"): a measure as of T is the latest value uploaded at or before
T; none = null (no data). One query serves every measure key of a release."""

import datetime as dt
from collections.abc import Iterable

from measures.selectors import latest_measures

from .results import MetricResult


def measure_results(
    *, release, as_of: dt.datetime, keys: Iterable[str], units: dict[str, str]
) -> dict[str, MetricResult]:
    """For each key: the latest measure of the release with `at` <= T (ties: greatest id), n = 1, its source,
    upload and time in details; null with n = 0 when the release has none by T."""
    keys = list(keys)
    if not keys:
        return {}
    latest = latest_measures(release=release, as_of=as_of, keys=keys)
    out = {}
    for key in keys:
        m = latest.get(key)
        if m is None:
            out[key] = MetricResult(key, None, 0, units.get(key, ""), {})
        else:
            out[key] = MetricResult(
                key,
                m.value,
                1,
                units.get(key, m.unit),
                {"source": m.source, "at": m.at.isoformat(), "upload": m.upload_id},
            )
    return out
