"""upload-junit with a report the server queues for a worker: the CLI waits and prints the final counts."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from releases.models import Role
from testing import models as tm
from tests.factories import junit_report

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args, url: str, token: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "qualitygov_cli", *args],
        env={**os.environ, "QUALITYGOV_URL": url, "QUALITYGOV_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_a_queued_upload_is_waited_for_and_its_counts_printed(
    live_server, release, make_member, settings, tmp_path
):
    settings.QUALITYGOV_JUNIT_ASYNC_BYTES = 1000
    settings.QUALITYGOV_JUNIT_SPOOL_DIR = str(tmp_path / "spool")
    token = Token.objects.create(user=make_member(Role.QA, username="ci-bot")).key
    report = tmp_path / "big.xml"
    report.write_bytes(junit_report(400, fail_every=40, suites=4))
    result = run_cli(
        "upload-junit", "--release", str(release.pk), str(report), url=live_server.url, token=token
    )
    assert result.returncode == 0, result.stderr
    assert "queued for ingestion" in result.stderr
    run = tm.TestRun.objects.get()
    assert f"stored as run {run.pk} (tests 400, passed 390, failed 10" in result.stdout
    assert tm.JUnitIngestion.objects.get().state == "done"
    # a queued report the worker refuses: exit 3 with the message
    broken = tmp_path / "broken.xml"
    broken.write_bytes(junit_report(300, suites=3)[:-40])
    result = run_cli(
        "upload-junit", "--release", str(release.pk), str(broken), url=live_server.url, token=token
    )
    assert result.returncode == 3 and "ingestion failed: Malformed XML" in result.stderr
