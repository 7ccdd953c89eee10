"""qualitygov-cli run as a real subprocess against a live server: exit codes and output of the contract."""

import gzip
import os
import socket
import subprocess
import sys

import pytest
from rest_framework.authtoken.models import Token

from gates import services
from gates.models import GateEvaluation
from releases.models import Role

pytestmark = pytest.mark.django_db(transaction=True)

PASSING = {"blocking_open_defects": 0, "test_pass_rate": 99.0, "reopen_rate": 1.0}
WARNING = {"blocking_open_defects": 0, "test_pass_rate": 96.0, "reopen_rate": 1.0}
FAILING = {"blocking_open_defects": 0, "test_pass_rate": 90.0, "reopen_rate": 1.0}


def run_cli(*args, url: str, token: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "QUALITYGOV_URL": url, "QUALITYGOV_TOKEN": token}
    return subprocess.run(
        [sys.executable, "-m", "qualitygov_cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )


@pytest.fixture
def ci_token(make_member):
    user = make_member(Role.QA, username="ci-bot")
    return Token.objects.create(user=user).key


@pytest.fixture
def signed(gate, release, rm):
    services.signoff_create(item=gate.checklist_items.get(), release=release, by=rm)


@pytest.mark.parametrize(
    ("values", "strict", "code", "status"),
    [
        (PASSING, False, 0, "PASSED"),
        (PASSING, True, 0, "PASSED"),
        (WARNING, False, 0, "WARNED"),
        (WARNING, True, 2, "WARNED"),
        (FAILING, False, 1, "FAILED"),
        (FAILING, True, 1, "FAILED"),
    ],
)
def test_gate_check_exit_code_follows_the_evaluation(
    live_server, gate, release, signed, ci_token, metric_values, values, strict, code, status
):
    # given metric values that make the gate pass, warn or fail
    metric_values(values)
    # when the pipeline runs gate-check
    result = run_cli(
        "gate-check",
        "--gate",
        str(gate.pk),
        "--release",
        str(release.pk),
        *(["--strict"] if strict else []),
        url=live_server.url,
        token=ci_token,
    )
    # then the exit code is the contract's, the table names the conditions, and the evaluation is stored as cli
    assert result.returncode == code, result.stderr
    assert "test_pass_rate" in result.stdout and status in result.stdout
    assert (
        GateEvaluation.objects.order_by("-id").first().requested_via == "cli"
    )  # the sign-off evaluated first


@pytest.mark.parametrize(
    ("case", "expected_message"),
    [("bad_token", "HTTP 40"), ("unknown_release", "HTTP 404"), ("unknown_gate", "HTTP 404")],
)
def test_gate_check_exits_3_when_no_evaluation_can_be_made(
    live_server, gate, release, ci_token, metric_values, case, expected_message
):
    metric_values(PASSING)
    token = "not-a-token" if case == "bad_token" else ci_token
    gate_id = 99999 if case == "unknown_gate" else gate.pk
    release_id = 99999 if case == "unknown_release" else release.pk
    result = run_cli(
        "gate-check", "--gate", str(gate_id), "--release", str(release_id), url=live_server.url, token=token
    )
    assert result.returncode == 3
    assert expected_message in result.stderr
    assert not GateEvaluation.objects.exists()


def test_gate_check_exits_3_when_the_server_is_unreachable_after_waiting(gate, release):
    # given a port nobody listens on
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # when gate-check waits up to 2 seconds
    result = run_cli(
        "gate-check",
        "--gate",
        "1",
        "--release",
        "1",
        "--wait",
        "2",
        url=f"http://127.0.0.1:{port}",
        token="x",
    )
    # then it retried, and gave up with exit 3
    assert result.returncode == 3
    assert "retrying" in result.stderr and "no evaluation could be made" in result.stderr


def test_upload_junit_sends_the_report(live_server, release, ci_token, tmp_path):
    # given a JUnit report
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuite name="api" tests="2"><testcase classname="api.Pay" name="test_ok"/>'
        '<testcase classname="api.Pay" name="test_bad"><failure message="boom">trace</failure></testcase>'
        "</testsuite>"
    )
    # when uploaded with the CLI
    result = run_cli(
        "upload-junit",
        "--release",
        str(release.pk),
        str(report),
        "--revision",
        "abc123",
        "--run-name",
        "nightly",
        url=live_server.url,
        token=ci_token,
    )
    # then it is stored as a run with its counts
    assert result.returncode == 0, result.stderr
    assert "stored as run" in result.stdout and "tests 2" in result.stdout
    from testing.models import TestRun

    run = TestRun.objects.get(release=release)
    assert (run.revision, run.name, run.tests, run.failed) == ("abc123", "nightly", 2, 1)
    # and a gzipped copy of the same report is recognised as already ingested
    gz = tmp_path / "junit.xml.gz"
    gz.write_bytes(gzip.compress(report.read_bytes()))
    again = run_cli(
        "upload-junit",
        "--release",
        str(release.pk),
        str(gz),
        "--revision",
        "abc123",
        url=live_server.url,
        token=ci_token,
    )
    assert again.returncode == 0 and "already ingested" in again.stdout


def test_upload_junit_with_a_bad_token_exits_3(live_server, release, tmp_path):
    report = tmp_path / "junit.xml"
    report.write_text('<testsuite name="x"><testcase name="t"/></testsuite>')
    result = run_cli(
        "upload-junit", "--release", str(release.pk), str(report), url=live_server.url, token="bad"
    )
    assert result.returncode == 3 and "upload failed" in result.stderr
