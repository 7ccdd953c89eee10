"""JUnit upload over the API: the contract, every refusal, idempotency, nothing written when refused."""

import gzip
import io

import pytest
from django.test import override_settings

from testing import models as tm
from tests.factories import RequirementFactory

URL = "/api/v1/releases/{}/junit/"

REPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="checkout" tests="4">
    <properties><property name="requirement" value="REQ-1"/></properties>
    <testcase classname="tests.test_checkout.TestPay" name="test_ok" time="0.5"/>
    <testcase classname="tests.test_checkout.TestPay" name="test_bad" time="0.2">
      <failure message="expected 200 got 500">Traceback: &lt;script&gt;alert(1)&lt;/script&gt;</failure>
    </testcase>
    <testcase classname="tests.test_checkout.TestPay" name="test_err"><error message="boom"/></testcase>
    <testcase classname="tests.test_checkout.TestPay" name="test_skip"><skipped/></testcase>
    <testcase classname="tests.test_checkout.TestPay" name="test_retry_REQ_2" time="1">
      <flakyFailure message="first try failed"/>
    </testcase>
  </testsuite>
</testsuites>
"""


def _nothing_written():
    return (
        tm.TestRun.objects.count() == 0
        and tm.TestResult.objects.count() == 0
        and tm.TestCase.objects.count() == 0
    )


@pytest.fixture
def uploader(api_client_for, qa):
    return api_client_for(qa)


def test_raw_xml_upload_creates_run_with_counts_and_links_requirements(release, uploader, project):
    # given requirements REQ-1 (suite property) and REQ-2 (in a test name)
    req1 = RequirementFactory(project=project, key="REQ-1")
    req2 = RequirementFactory(project=project, key="REQ-2")
    # when CI uploads the report as the raw body
    response = uploader.post(
        URL.format(release.pk) + "?revision=abc123&environment=staging&run_name=nightly",
        data=REPORT,
        content_type="application/xml",
    )
    # then the run and counts come back
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("tests", "passed", "failed", "error", "skipped", "flaky", "duplicate")} == {
        "tests": 5,
        "passed": 2,
        "failed": 1,
        "error": 1,
        "skipped": 1,
        "flaky": 1,
        "duplicate": False,
    }
    run = tm.TestRun.objects.get(pk=body["run"])
    assert (run.revision, run.environment, run.name, run.source) == ("abc123", "staging", "nightly", "ci")
    assert tm.TestResult.objects.filter(run=run).count() == 5
    flaky = tm.TestResult.objects.get(run=run, test_case__name="test_retry_REQ_2")
    assert (flaky.status, flaky.flaky, flaky.attempts) == ("passed", True, 2)
    assert set(req1.test_cases.values_list("name", flat=True)) == {
        "test_ok",
        "test_bad",
        "test_err",
        "test_skip",
        "test_retry_REQ_2",
    }
    assert list(req2.test_cases.values_list("name", flat=True)) == ["test_retry_REQ_2"]


def test_same_report_same_revision_is_not_counted_twice(release, uploader):
    # given a report already ingested for revision r1
    first = uploader.post(
        URL.format(release.pk) + "?revision=r1", data=REPORT, content_type="application/xml"
    )
    assert first.status_code == 201
    # when the same bytes come again, gzip-compressed this time
    again = uploader.post(
        URL.format(release.pk) + "?revision=r1",
        data=gzip.compress(REPORT),
        content_type="application/xml",
        HTTP_CONTENT_ENCODING="gzip",
    )
    # then 200, duplicate=true, the existing run, and nothing new written
    assert again.status_code == 200
    assert again.json()["duplicate"] is True and again.json()["run"] == first.json()["run"]
    assert tm.TestRun.objects.count() == 1 and tm.TestResult.objects.count() == 5
    # and another revision is a new run of the same test cases
    other = uploader.post(URL.format(release.pk) + "?revision=r2", data=REPORT, content_type="text/xml")
    assert other.status_code == 201 and tm.TestRun.objects.count() == 2 and tm.TestCase.objects.count() == 5


def test_multipart_file_field_with_form_params(release, uploader):
    # when the report is sent as the multipart field `file`
    response = uploader.post(
        URL.format(release.pk),
        data={"file": io.BytesIO(REPORT), "revision": "m1", "environment": "test"},
        format="multipart",
    )
    # then it is ingested with the form's revision
    assert response.status_code == 201, response.content
    assert tm.TestRun.objects.get().revision == "m1"


@pytest.mark.parametrize(
    ("body", "code", "where"),
    [
        (
            b"<testsuites><testsuite><testcase name='a'></testsuite></testsuites>",
            "malformed",
            "(line 1, column",
        ),
        (b'<?xml version="1.0"?>\n<suites><suite/></suites>', "not_junit", "(line 2, column 1)"),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<testsuites>&x;</testsuites>',
            "doctype",
            "(line 2, column 1)",
        ),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
            b"<testsuites><testsuite name='&lol2;'/></testsuites>",
            "doctype",
            "(line 2, column 1)",
        ),
        (b"<testsuites><testsuite name='&undefined;'/></testsuites>", "entity", "(line 1, column"),
        (b"not xml at all", "malformed", "(line 1, column"),
    ],
    ids=["malformed", "non-junit", "xxe", "billion-laughs", "undefined-entity", "garbage"],
)
def test_bad_documents_are_refused_with_line_and_column_and_nothing_written(
    release, uploader, body, code, where
):
    # when a broken or hostile document is uploaded
    response = uploader.post(URL.format(release.pk), data=body, content_type="application/xml")
    # then 400 saying what and where, and nothing was written
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert where in response.json()["detail"]
    assert _nothing_written()


def test_too_large_body_is_refused_with_413(release, uploader):
    with override_settings(QUALITYGOV_JUNIT_MAX_BYTES=200):
        response = uploader.post(URL.format(release.pk), data=REPORT, content_type="application/xml")
    assert response.status_code == 413
    assert _nothing_written()


def test_gzip_bomb_is_refused_on_decompressed_size(release, uploader):
    # given a tiny gzip that inflates far past the limit
    bomb = gzip.compress(b"<testsuites>" + b" " * 5_000_000 + b"</testsuites>")
    assert len(bomb) < 20_000
    with override_settings(QUALITYGOV_JUNIT_MAX_BYTES=100_000):
        response = uploader.post(
            URL.format(release.pk), data=bomb, content_type="application/xml", HTTP_CONTENT_ENCODING="gzip"
        )
    assert response.status_code == 413
    assert "decompressed" in response.json()["detail"]
    assert _nothing_written()


@pytest.mark.parametrize("role", ["viewer"])
def test_role_without_upload_right_is_refused_403(release, make_member, api_client_for, role):
    client = api_client_for(make_member(role))
    response = client.post(URL.format(release.pk), data=REPORT, content_type="application/xml")
    assert response.status_code == 403
    assert _nothing_written()


def test_non_member_gets_404_and_anonymous_is_refused(release, api_client_for):
    from tests.factories import UserFactory

    assert (
        api_client_for(UserFactory())
        .post(URL.format(release.pk), data=REPORT, content_type="application/xml")
        .status_code
        == 404
    )
    assert (
        api_client_for(None)
        .post(URL.format(release.pk), data=REPORT, content_type="application/xml")
        .status_code
        == 401
    )
    assert _nothing_written()


def test_unknown_environment_is_refused(release, uploader):
    response = uploader.post(
        URL.format(release.pk) + "?environment=moon", data=REPORT, content_type="application/xml"
    )
    assert response.status_code == 400
    assert "environment" in response.json()
    assert _nothing_written()


def test_unsupported_content_type_is_415(release, uploader):
    response = uploader.post(URL.format(release.pk), data={"a": 1}, format="json")
    assert response.status_code == 415
    assert _nothing_written()


def test_upload_schedules_one_recompute_for_the_release(release, uploader, monkeypatch):
    calls = []
    import metrics.services

    monkeypatch.setattr(metrics.services, "schedule_recompute", lambda **kw: calls.append(kw))
    uploader.post(URL.format(release.pk), data=REPORT, content_type="application/xml")
    assert calls == [{"release_ids": [release.pk]}]
    assert tm.Requirement.objects.count() == 0
