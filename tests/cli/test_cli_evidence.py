"""qualitygov-cli upload-coverage / upload-sarif / upload-loadtest / measure as real subprocesses against a live
server, with the real tool output of the corpus: what they store (the tools' own summaries), duplicates, and exit 3
on refusals."""

import json

import pytest
from rest_framework.authtoken.models import Token

from measures.models import Finding, Measure
from releases.models import Role
from tests.cli.test_cli import run_cli
from tests.measures.oracle import OUT as CORPUS
from tests.measures.oracle import coverage_py_totals, k6_summary, read

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ci_token(make_member):
    return Token.objects.create(user=make_member(Role.QA, username="ci-bot")).key


def test_upload_coverage_sarif_and_loadtest_store_the_measures(live_server, release, ci_token):
    url = live_server.url
    line, branch = coverage_py_totals()
    cov = run_cli(
        "upload-coverage", "--release", str(release.pk), str(CORPUS / "coverage.xml"), url=url, token=ci_token
    )
    assert cov.returncode == 0, cov.stderr
    assert f"line_coverage {line:g} %" in cov.stdout
    lcov = run_cli(
        "upload-coverage",
        "--release",
        str(release.pk),
        "--format",
        "lcov",
        str(CORPUS / "coverage.lcov"),
        url=url,
        token=ci_token,
    )
    assert lcov.returncode == 0 and f"branch_coverage {branch:g} %" in lcov.stdout
    again = run_cli(
        "upload-coverage",
        "--release",
        str(release.pk),
        "--format",
        "lcov",
        str(CORPUS / "coverage.lcov"),
        url=url,
        token=ci_token,
    )
    assert again.returncode == 0 and "already stored" in again.stdout
    sarif = run_cli(
        "upload-sarif", "--release", str(release.pk), str(CORPUS / "bandit-v1.sarif"), url=url, token=ci_token
    )
    bandit_high = json.loads(read("bandit-v1-totals.json"))["SEVERITY.HIGH"]
    assert sarif.returncode == 0 and f"findings_high_total {bandit_high}" in sarif.stdout
    # k6's --summary-export of a real run; its own end-of-test summary text is the oracle
    k6 = k6_summary()
    load = run_cli(
        "upload-loadtest",
        "--release",
        str(release.pk),
        str(CORPUS / "k6-summary.json"),
        url=url,
        token=ci_token,
    )
    assert load.returncode == 0, load.stderr
    assert f"p95_latency_ms {float(k6.p95_ms):g} ms" in load.stdout
    assert f"error_rate {float(k6.error_rate):g} %" in load.stdout
    bandit_results = json.loads(read("bandit-v1.sarif"))["runs"][0]["results"]
    assert Finding.objects.filter(release=release).count() == len(bandit_results)
    assert {m.key for m in Measure.objects.filter(release=release)} >= {
        "line_coverage",
        "branch_coverage",
        "findings_high_total",
        "new_findings_high",
        "p95_latency_ms",
        "error_rate",
    }


def test_measure_records_pairs_and_refuses_bad_input(live_server, release, ci_token):
    url = live_server.url
    ok = run_cli(
        "measure",
        "--release",
        str(release.pk),
        "line_coverage=91.5",
        "error_rate=0.2",
        url=url,
        token=ci_token,
    )
    assert ok.returncode == 0, ok.stderr
    assert Measure.objects.get(release=release, key="line_coverage").value == 91.5
    bad = run_cli("measure", "--release", str(release.pk), "line_coverage=lots", url=url, token=ci_token)
    assert bad.returncode == 3 and "KEY=NUMBER" in bad.stderr
    unknown = run_cli("measure", "--release", str(release.pk), "code_coverage=1", url=url, token=ci_token)
    assert unknown.returncode == 3 and "Unknown measure key" in unknown.stderr
    assert Measure.objects.filter(release=release).count() == 2


def test_a_refused_report_exits_3_with_the_servers_message(live_server, release, ci_token, tmp_path):
    (tmp_path / "bad.xml").write_text('<!DOCTYPE x [<!ENTITY a "b">]><coverage/>')
    result = run_cli(
        "upload-coverage",
        "--release",
        str(release.pk),
        str(tmp_path / "bad.xml"),
        url=live_server.url,
        token=ci_token,
    )
    assert result.returncode == 3 and "DOCTYPE" in result.stderr
    missing = run_cli(
        "upload-sarif",
        "--release",
        str(release.pk),
        str(tmp_path / "nope.sarif"),
        url=live_server.url,
        token=ci_token,
    )
    assert missing.returncode == 3 and "no such file" in missing.stderr
    assert not Measure.objects.exists()
