"""Load-test result readers: k6 summary JSON and JMeter JTL CSV, giving p95 latency and error rate.

* k6 (`k6 run --summary-export=summary.json`: each metric's figures at its top level, a rate metric's share as
  `value`; or the JSON that `handleSummary` receives: the figures under `values`, a rate metric's share as
  `rate`): `p95_latency_ms` = `http_req_duration` `p(95)` (ms); `error_rate` = 100 * the `http_req_failed` share.
  Both are cut (not rounded) to 2 decimals, as k6's own end-of-test summary prints them, so the stored figures
  are the ones k6 showed (p(95)=23.58ms for 23.5866 ms).
* JMeter JTL in CSV with its header row (`jmeter.save.saveservice.print_field_names=true`, the default since
  JMeter 3.0): one sample per row; `p95_latency_ms` = the "95% line" of JMeter's Aggregate Report (the smallest
  `elapsed` with at least round(0.95 * samples) samples at or below it, rounding half up), `error_rate` = 100 *
  samples whose `success` is not `true` / samples, rounded to 2 decimals as JMeter's summariser prints it.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from typing import IO

from qualitygov.uploads import UploadRefused

FORMATS = ("k6", "jmeter")


@dataclass(frozen=True, slots=True)
class LoadTotals:
    format: str
    p95_latency_ms: float | None
    error_rate: float | None
    requests: int | None

    def summary(self) -> dict:
        return {"format": self.format, "requests": self.requests}


def _number(value, what: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise UploadRefused(
            f"{what} is not a non-negative number: {str(value)[:40]!r}", code="invalid_number"
        )
    return float(value)


def cut_to_hundredths(value: float) -> float:
    """`value` cut toward zero to 2 decimals, with the same double arithmetic as k6's summary (trunc(100 * v) / 100)."""
    return math.trunc(100.0 * value) / 100.0


def parse_k6(file: IO[bytes]) -> LoadTotals:
    try:
        doc = json.load(file)
    except UnicodeDecodeError as exc:
        raise UploadRefused(f"The k6 summary is not UTF-8 text: {exc.reason}", code="malformed") from None
    except json.JSONDecodeError as exc:
        raise UploadRefused(
            f"Malformed JSON: {exc.msg}", line=exc.lineno, column=exc.colno, code="malformed"
        ) from None
    except RecursionError:
        raise UploadRefused("The JSON is nested too deeply", code="malformed") from None
    metrics = doc.get("metrics") if isinstance(doc, dict) else None
    if not isinstance(metrics, dict):
        raise UploadRefused("Not a k6 summary: expected an object with 'metrics'", code="wrong_format")

    def figures(name: str) -> dict | None:
        """The metric's figures in the --summary-export shape (a rate metric's share as `value`)."""
        metric = metrics.get(name)
        if not isinstance(metric, dict):
            return None
        values = metric.get("values")
        if not isinstance(values, dict):
            return metric
        if metric.get("type") == "rate" and "rate" in values:
            return {**values, "value": values["rate"]}
        return values

    duration = figures("http_req_duration")
    failed = figures("http_req_failed")
    reqs = figures("http_reqs")
    if duration is None and failed is None:
        raise UploadRefused(
            "The k6 summary has neither http_req_duration nor http_req_failed", code="no_totals"
        )
    p95 = None
    if duration is not None:
        if "p(95)" not in duration:
            raise UploadRefused(
                "http_req_duration has no p(95); run k6 with the default summaryTrendStats", code="no_totals"
            )
        p95 = cut_to_hundredths(_number(duration["p(95)"], "http_req_duration p(95)"))
    error = None
    if failed is not None:
        if "value" not in failed:
            raise UploadRefused(
                "http_req_failed has no share of failed requests ('value', or 'rate' under 'values')",
                code="no_totals",
            )
        rate = _number(failed["value"], "http_req_failed value")
        if rate > 1:
            raise UploadRefused("http_req_failed value is a share between 0 and 1", code="invalid_number")
        error = cut_to_hundredths(100.0 * rate)
    requests = None
    if reqs is not None and "count" in reqs:
        requests = int(_number(reqs["count"], "http_reqs count"))
    return LoadTotals("k6", p95, error, requests)


def jmeter_percent_point(sorted_values: list[float], fraction: float) -> float:
    """JMeter's percentile (its Aggregate Report's "95% line" for 0.95): the smallest value with at least
    round(fraction * count) values at or below it, rounding half up like Java's Math.round."""
    rank = max(1, math.floor(len(sorted_values) * fraction + 0.5))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def parse_jmeter(file: IO[bytes]) -> LoadTotals:
    text = io.TextIOWrapper(file, encoding="utf-8-sig", errors="replace", newline="")
    try:
        reader = csv.reader(text)
        header = next(reader, None)
        if not header or "elapsed" not in header or "success" not in header:
            raise UploadRefused(
                "Not a JMeter JTL CSV with its header row (needs 'elapsed' and 'success' columns; "
                "set jmeter.save.saveservice.print_field_names=true)",
                line=1,
                column=1,
                code="wrong_format",
            )
        at_elapsed, at_success = header.index("elapsed"), header.index("success")
        elapsed: list[float] = []
        errors = 0
        for number, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) < len(header):
                raise UploadRefused(
                    f"The row has {len(row)} fields, the header {len(header)}",
                    line=number,
                    column=1,
                    code="malformed",
                )
            try:
                value = float(row[at_elapsed])
            except ValueError:
                raise UploadRefused(
                    f"elapsed is not a number: {row[at_elapsed][:40]!r}",
                    line=number,
                    column=1,
                    code="invalid_number",
                ) from None
            if not math.isfinite(value) or value < 0:
                raise UploadRefused(
                    "elapsed is negative or not finite", line=number, column=1, code="invalid_number"
                )
            elapsed.append(value)
            errors += row[at_success].strip().lower() != "true"
    except csv.Error as exc:
        raise UploadRefused(f"Malformed CSV: {exc}", code="malformed") from None
    finally:
        text.detach()
    if not elapsed:
        raise UploadRefused("The JTL file holds no samples", code="no_totals")
    elapsed.sort()
    return LoadTotals(
        "jmeter",
        round(jmeter_percent_point(elapsed, 0.95), 2),
        round(100.0 * errors / len(elapsed), 2),
        len(elapsed),
    )


PARSERS = {"k6": parse_k6, "jmeter": parse_jmeter}


def parse_loadtest(file: IO[bytes], *, format: str | None = None) -> LoadTotals:
    """Read a load-test result in `format`; without one, a JSON object is k6 and anything else JMeter CSV."""
    if not format:
        start = file.tell()
        head = file.read(64).lstrip()
        file.seek(start)
        format = "k6" if head.startswith(b"{") else "jmeter"
    if format not in PARSERS:
        raise UploadRefused(
            f"Unknown load-test format '{format[:40]}'; use one of: {', '.join(FORMATS)}",
            code="unknown_format",
        )
    return PARSERS[format](file)
