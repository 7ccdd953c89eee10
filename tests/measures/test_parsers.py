"""The coverage, SARIF and load-test readers: totals as the tools report them, and every refusal."""

import io
import json

import pytest

from measures.coverage import parse_coverage, sniff
from measures.loadtest import jmeter_percent_point, parse_loadtest
from measures.sarif import parse_sarif
from qualitygov.uploads import UploadRefused

from .samples import COBERTURA, ISTANBUL_COBERTURA, JACOCO, JTL, K6, LCOV, SARIF_V1, sarif_v2


def cov(data: bytes, fmt=None):
    return parse_coverage(io.BytesIO(data), format=fmt)


def test_cobertura_totals_come_from_the_root_counts():
    totals = cov(COBERTURA)
    assert (totals.format, totals.line_coverage, totals.branch_coverage) == ("cobertura", 85.5, 75.0)
    assert (totals.lines_covered, totals.lines_valid) == (171, 200)


def test_istanbul_cobertura_with_an_external_doctype_and_no_branches_has_null_branch_coverage():
    totals = cov(ISTANBUL_COBERTURA)
    assert totals.line_coverage == 90.0 and totals.branch_coverage is None


def test_jacoco_uses_the_report_counters_not_the_sum_of_packages():
    totals = cov(JACOCO)
    assert (totals.format, totals.line_coverage, totals.branch_coverage) == ("jacoco", 75.0, 75.0)


def test_lcov_sums_records():
    totals = cov(LCOV)
    assert (totals.format, totals.line_coverage, totals.branch_coverage, totals.files) == (
        "lcov",
        80.0,
        50.0,
        2,
    )


@pytest.mark.parametrize(("data", "fmt"), [(COBERTURA, "cobertura"), (JACOCO, "jacoco"), (LCOV, "lcov")])
def test_sniffing_recognises_each_format(data, fmt):
    assert sniff(data[:4096]) == fmt


@pytest.mark.parametrize(
    ("data", "fmt", "code"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE coverage [<!ENTITY x "y">]><coverage line-rate="1"/>',
            None,
            "doctype",
        ),
        (b'<!DOCTYPE r SYSTEM "x"><!ENTITY % p SYSTEM "file:///etc/passwd"><report/>', "jacoco", "doctype"),
        (b"<coverage line-rate='0.5'>&xxe;</coverage>", "cobertura", "entity"),
        (b"<coverage line-rate='0.5'>", "cobertura", "malformed"),
        (b"<report/>", "cobertura", "wrong_format"),
        (b"<coverage/>", "cobertura", "no_totals"),
        (b"<coverage line-rate='1.5'/>", "cobertura", "invalid_number"),
        (b"<coverage lines-valid='1' lines-covered='2'/>", "cobertura", "inconsistent"),
        (b"<report><counter type='LINE' missed='x' covered='1'/></report>", "jacoco", "invalid_number"),
        (b"SF:a\nLF:abc\n", "lcov", "invalid_number"),
        (b"hello world\n", "lcov", "malformed"),
        (b"TN:\n", "lcov", "no_totals"),
        (b"plain text", None, "unknown_format"),
        (b"<coverage/>", "clover", "unknown_format"),
    ],
)
def test_bad_coverage_reports_are_refused_with_a_code(data, fmt, code):
    with pytest.raises(UploadRefused) as exc:
        cov(data, fmt)
    assert exc.value.code == code


def sarif(doc) -> object:
    return parse_sarif(io.BytesIO(json.dumps(doc).encode()))


def test_sarif_levels_follow_the_rule_default_and_suppressions_are_left_out():
    parsed = sarif(SARIF_V1)
    assert parsed.counts() == {"error": 1, "warning": 0, "note": 1, "none": 0}
    assert parsed.suppressed == 1
    first = parsed.findings[0]
    assert (first.rule_id, first.level, first.uri, first.start_line) == ("B602", "error", "app/run.py", 4)
    assert first.identity == "loc:bandit:B602:app/run.py:4"


def test_sarif_fingerprints_identify_and_repository_links_are_built():
    parsed = sarif(sarif_v2())
    new = [f for f in parsed.findings if f.rule_id == "B307"][0]
    assert new.identity == "fp:bandit:primaryLocationLineHash=abcd:1"
    assert new.link == "https://git.example.org/pay/blob/abc123/app/new.py#L12"
    assert parsed.counts()["warning"] == 1


def test_a_fingerprint_shared_by_several_results_identifies_nothing():
    doc = sarif_v2()
    for result in doc["runs"][0]["results"]:
        result["fingerprints"] = {"matchBasedId/v1": "requires login"}
    parsed = sarif(doc)
    assert all(f.identity.startswith("loc:") for f in parsed.findings)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"{", "malformed"),
        (b"[]", "not_sarif"),
        (b'{"version": "2.0.0", "runs": []}', "unsupported_version"),
        (b'{"version": "2.1.0", "runs": [{"results": []}]}', "not_sarif"),
        (
            b'{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"level": "high"}]}]}',
            "bad_level",
        ),
        (b"\xff\xfe\x00", "malformed"),
        (b"[" * 100000, "malformed"),
    ],
)
def test_bad_sarif_is_refused(data, code):
    with pytest.raises(UploadRefused) as exc:
        parse_sarif(io.BytesIO(data))
    assert exc.value.code == code


def test_k6_summary_export_gives_p95_and_error_rate():
    totals = parse_loadtest(io.BytesIO(K6))
    assert (totals.format, totals.p95_latency_ms, totals.error_rate, totals.requests) == (
        "k6",
        31.45,  # p(95) 31.456 cut to 2 decimals, as k6 prints it
        3.0,
        100,
    )


def test_k6_handle_summary_json_with_values_is_read_too():
    doc = {
        "metrics": {
            "http_req_duration": {"type": "trend", "values": {"p(95)": 5.0}},
            "http_req_failed": {"type": "rate", "values": {"rate": 0.125, "passes": 1, "fails": 7}},
            "http_reqs": {"type": "counter", "values": {"count": 8, "rate": 2.5}},
        }
    }
    totals = parse_loadtest(io.BytesIO(json.dumps(doc).encode()), format="k6")
    assert (totals.p95_latency_ms, totals.error_rate, totals.requests) == (5.0, 12.5, 8)


def test_k6_figures_are_cut_to_hundredths_like_k6s_own_summary_not_rounded():
    doc = {
        "metrics": {"http_req_duration": {"p(95)": 23.5866198}, "http_req_failed": {"value": 0.1945945945}}
    }
    totals = parse_loadtest(io.BytesIO(json.dumps(doc).encode()), format="k6")
    # k6 prints p(95)=23.58ms and 19.45% for these
    assert (totals.p95_latency_ms, totals.error_rate) == (23.58, 19.45)


def test_jmeter_jtl_gives_the_aggregate_reports_95_line_and_error_rate():
    totals = parse_loadtest(io.BytesIO(JTL), format="jmeter")
    assert (totals.format, totals.p95_latency_ms, totals.error_rate, totals.requests) == (
        "jmeter",
        40.0,
        25.0,
        4,
    )


def test_jmeter_percent_point_rounds_the_rank_half_up_like_jmeter():
    values = [float(v) for v in range(1, 101)]
    assert jmeter_percent_point(values, 0.95) == 95.0 and jmeter_percent_point([7.0], 0.95) == 7.0
    # 0.95 * 111 = 105.45: JMeter takes the 105th value where a nearest-rank percentile (ceil) takes the 106th
    assert jmeter_percent_point([float(v) for v in range(1, 112)], 0.95) == 105.0
    # 0.95 * 30 = 28.5 rounds up to the 29th
    assert jmeter_percent_point([float(v) for v in range(1, 31)], 0.95) == 29.0


@pytest.mark.parametrize(
    ("data", "fmt", "code"),
    [
        (b"{}", "k6", "wrong_format"),
        (b'{"metrics": {"http_req_duration": {"avg": 1}}}', "k6", "no_totals"),
        (b'{"metrics": {"http_req_duration": {"p(95)": -1}}}', "k6", "invalid_number"),
        (b'{"metrics": {"http_req_failed": {"value": 3}}}', "k6", "invalid_number"),
        (b'{"metrics": {"http_req_failed": {"type": "rate", "values": {"passes": 1}}}}', "k6", "no_totals"),
        (b"a,b\n1,2\n", "jmeter", "wrong_format"),
        (b"elapsed,success\nx,true\n", "jmeter", "invalid_number"),
        (b"elapsed,success\n", "jmeter", "no_totals"),
        (b"elapsed,success\n5\n", "jmeter", "malformed"),
        (b"{}", "gatling", "unknown_format"),
    ],
)
def test_bad_load_test_results_are_refused(data, fmt, code):
    with pytest.raises(UploadRefused) as exc:
        parse_loadtest(io.BytesIO(data), format=fmt)
    assert exc.value.code == code
