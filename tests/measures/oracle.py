"""The tools' own summaries saved beside their reports in corpus/out (by scripts/evidence_corpus.sh), read back
as the figures QualityGov must show for those reports."""

import json
import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

OUT = Path(__file__).parent / "corpus" / "out"


def read(name: str) -> bytes:
    return (OUT / name).read_bytes()


def coverage_py_totals() -> tuple[float, float]:
    """Line and branch coverage (%) of coverage.py's own JSON totals, to 2 decimals."""
    totals = json.loads(read("coverage-totals.json"))
    return round(totals["percent_statements_covered"], 2), round(totals["percent_branches_covered"], 2)


@dataclass(frozen=True)
class K6Summary:
    """The HTTP figures of k6's end-of-test summary text: p(95) of http_req_duration in ms, the http_req_failed
    percentage, the failed and total request counts, as printed."""

    p95_ms: Decimal
    error_rate: Decimal
    failed: int
    requests: int


_DURATION_UNITS = {"µs": Decimal("0.001"), "ms": Decimal(1), "s": Decimal(1000)}


def k6_summary(name: str = "k6-summary.txt") -> K6Summary:
    text = read(name).decode()
    # the first http_req_duration line is all requests; the one under it is { expected_response:true } only
    duration = re.search(r"^\s*http_req_duration\.+: .*\bp\(95\)=([\d.]+)(µs|ms|s)\b", text, re.M)
    failed = re.search(r"^\s*http_req_failed\.+: ([\d.]+)%\s+(\d+) out of (\d+)", text, re.M)
    requests = re.search(r"^\s*http_reqs\.+: (\d+)\s", text, re.M)
    assert duration and failed and requests, f"{name} is not a k6 end-of-test summary"
    assert duration.group(2) != "s", (
        "k6 prints seconds to 2 decimals only; make the run faster than 1 s p(95)"
    )
    # k6 prints durations of less than 1 ms in µs, cut (not rounded) to 2 decimals of the unit it shows
    p95 = (Decimal(duration.group(1)) * _DURATION_UNITS[duration.group(2)]).quantize(
        Decimal("0.01"), rounding=ROUND_DOWN
    )
    return K6Summary(p95, Decimal(failed.group(1)), int(failed.group(2)), int(requests.group(1)))


@dataclass(frozen=True)
class JMeterSummary:
    """JMeter's own figures for a run: its summariser's sample count and error percentage, and the Aggregate
    Report calculator's 95% line (ms) and error share."""

    samples: int
    errors: int
    error_percent: Decimal
    line_95_ms: Decimal
    aggregate_samples: int
    aggregate_error_share: float


def jmeter_summary(name: str = "jmeter-summary.txt") -> JMeterSummary:
    text = read(name).decode()
    summary = re.search(r"^summary =\s+(\d+) in .* Err:\s+(\d+) \(([\d.]+)%\)", text, re.M)
    aggregate = re.search(
        r"^aggregate report: samples=(\d+) 95% line=(\d+) error share=([\d.eE-]+)$", text, re.M
    )
    assert summary and aggregate, f"{name} holds no JMeter summary and aggregate lines"
    return JMeterSummary(
        int(summary.group(1)),
        int(summary.group(2)),
        Decimal(summary.group(3)),
        Decimal(aggregate.group(2)),
        int(aggregate.group(1)),
        float(aggregate.group(3)),
    )
