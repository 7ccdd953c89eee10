"""Large JUnit reports: ingested by a worker (202 + status URL), oversize refused early with a clear 413."""

import gzip
import os

import pytest

from testing import models as tm
from tests.factories import junit_report


@pytest.fixture
def small_threshold(settings, tmp_path):
    settings.QUALITYGOV_JUNIT_ASYNC_BYTES = 1000
    settings.QUALITYGOV_JUNIT_STAGED_BYTES = (
        1000  # large reports are staged in SQL on PostgreSQL, as in production
    )
    settings.QUALITYGOV_JUNIT_SPOOL_DIR = str(tmp_path / "spool")
    return tmp_path / "spool"


def post(client, release, data: bytes, **headers):
    return client.post(
        f"/api/v1/releases/{release.pk}/junit/?revision=r1&run_name=big",
        data=data,
        content_type="application/xml",
        **headers,
    )


def test_a_report_above_the_threshold_is_queued_and_ingested_by_the_worker(
    release, make_member, api_client_for, small_threshold, django_capture_on_commit_callbacks, qa
):
    client = api_client_for(qa)
    report = gzip.compress(junit_report(500, fail_every=50, suites=5))
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, release, report, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == body["status_url"] == f"/api/v1/junit-ingestions/{body['id']}/"
    state = client.get(body["status_url"]).json()
    assert state["state"] == "done" and state["error"] == ""
    run = tm.TestRun.objects.get()
    assert state["run"] == run.pk and state["result"]["tests"] == 500 and state["result"]["failed"] == 10
    assert (run.name, run.revision, run.tests) == ("big", "r1", 500)
    assert not os.listdir(small_threshold)  # the spooled report is gone
    # the same report again answers as a duplicate straight away
    again = post(client, release, report, HTTP_CONTENT_ENCODING="gzip")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    # another project's member cannot read the status
    from tests.factories import ProjectFactory

    stranger = make_member("qa", project_=ProjectFactory(key="OTHER"), username="stranger")
    assert api_client_for(stranger).get(body["status_url"]).status_code == 404


def test_a_queued_report_that_is_refused_ends_failed_with_the_message(
    release, api_client_for, small_threshold, django_capture_on_commit_callbacks, qa
):
    client = api_client_for(qa)
    broken = junit_report(300, suites=3)[:-40]  # cut short: malformed
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, release, broken)
    assert response.status_code == 202
    state = client.get(response.json()["status_url"]).json()
    assert state["state"] == "failed" and "Malformed XML" in state["error"] and "line" in state["error"]
    assert not tm.TestRun.objects.exists() and not tm.TestResult.objects.exists()


def test_oversize_is_refused_with_a_clear_413(release, api_client_for, settings, qa):
    settings.QUALITYGOV_JUNIT_MAX_BYTES = 2000
    client = api_client_for(qa)
    response = post(client, release, junit_report(100))
    assert response.status_code == 413
    assert "larger than the limit of 2000 bytes" in response.json()["detail"]
    # a small gzip body that inflates past the limit is refused too
    response = post(client, release, gzip.compress(junit_report(100)), HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 413 and "decompressed" in response.json()["detail"]
    assert not tm.TestRun.objects.exists()


def test_default_limits_accept_a_million_testcase_report(settings):
    # a 1,000,000-testcase report is ~150 MB of XML (~15 MB gzipped): under the default limit, above the
    # threshold, so it goes to a worker
    assert settings.QUALITYGOV_JUNIT_MAX_BYTES >= 200 * 1024 * 1024
    assert settings.QUALITYGOV_JUNIT_ASYNC_BYTES < 150 * 1024 * 1024
