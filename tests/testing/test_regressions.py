"""Regressions reopen defects (issue 15, item 7): file a defect from a failure, resolve it, upload a report
where the test fails again, and find the defect reopened with the run linked (or only flagged)."""

import pytest

from defects.models import Defect, DefectComment, DefectTransition
from defects.services import defect_transition
from testing import models as tm
from tests.factories import ReleaseFactory


def report(status: str) -> bytes:
    body = '<failure message="refund not issued">AssertionError</failure>' if status == "failed" else ""
    return (
        '<testsuites><testsuite name="pytest"><testcase classname="tests.test_pay" name="test_refund">'
        f'{body}</testcase><testcase classname="tests.test_pay" name="test_ok"/></testsuite></testsuites>'
    ).encode()


def upload(client, release, data: bytes, revision: str):
    response = client.post(
        f"/api/v1/releases/{release.pk}/junit/?revision={revision}", data=data, content_type="application/xml"
    )
    assert response.status_code == 201, response.content
    return tm.TestRun.objects.get(pk=response.json()["run"])


@pytest.fixture
def resolved_defect(release, api_client_for, qa):
    """A defect filed from a failing result of test_refund, then resolved as fixed."""
    client = api_client_for(qa)
    run = upload(client, release, report("failed"), "r1")
    result = run.results.get(status="failed")
    response = client.post(
        f"/api/v1/results/{result.pk}/defect/", {"title": "Refund not issued"}, format="json"
    )
    assert response.status_code == 201, response.content
    defect = Defect.objects.get()
    defect_transition(defect=defect, to="resolved", by=qa, resolution="fixed")
    return client, defect


def test_a_failing_linked_test_reopens_the_resolved_defect_with_the_run_linked(release, resolved_defect):
    client, defect = resolved_defect
    # a later release where the test passes: nothing happens
    later = ReleaseFactory(project=release.project, version="2.5.0")
    upload(client, later, report("passed"), "r2")
    defect.refresh_from_db()
    assert defect.status == "resolved" and not tm.TestRegression.objects.exists()
    # when a report of the later release has the test failing again
    run = upload(client, later, report("failed"), "r3")
    # then the defect is reopened by the system, with the run as its reason and the failing result linked
    defect.refresh_from_db()
    assert defect.status == "reopened" and defect.resolution == ""
    move = DefectTransition.objects.filter(defect=defect).latest("at", "id")
    assert (move.from_status, move.to_status, move.by) == ("resolved", "reopened", None)
    assert f"/runs/{run.pk}/" in move.comment and "test_refund failed again" in move.comment
    failing = run.results.get(test_case__name="test_refund")
    assert defect.test_results.filter(pk=failing.pk).exists()
    comment = DefectComment.objects.filter(defect=defect).latest("created_at", "id")
    assert comment.author is None and f"/runs/{run.pk}/" in comment.body
    regression = tm.TestRegression.objects.get()
    assert (regression.run, regression.result, regression.action) == (run, failing, "reopen")
    # and the board's "regressed" quick view lists it
    board = client.get("/api/v1/defects/?regressed=1")
    assert board.status_code == 200, board.content
    keys = [row["key"] for row in board.json()["results"]]
    assert keys == [defect.key]


def test_flag_only_keeps_the_state_and_flags_it(release, resolved_defect, make_member, api_client_for):
    client, defect = resolved_defect
    # given the project chose to flag only (an admin's setting; a QA may not change it)
    assert (
        client.put(
            f"/api/v1/projects/{release.project.key}/test-settings/", {"on_regression": "flag"}, format="json"
        ).status_code
        == 403
    )
    admin = api_client_for(make_member("admin"))
    response = admin.put(
        f"/api/v1/projects/{release.project.key}/test-settings/", {"on_regression": "flag"}, format="json"
    )
    assert response.status_code == 200 and response.json()["on_regression"] == "flag"
    assert (
        admin.put(
            f"/api/v1/projects/{release.project.key}/test-settings/",
            {"on_regression": "never"},
            format="json",
        ).status_code
        == 400
    )
    # when the test fails again
    run = upload(client, release, report("failed"), "r9")
    # then the defect stays resolved, flagged as regressed with the run linked
    defect.refresh_from_db()
    assert defect.status == "resolved"
    regression = tm.TestRegression.objects.get()
    assert (regression.run, regression.action, regression.defect_status) == (run, "flag", "resolved")
    assert f"/runs/{run.pk}/" in DefectComment.objects.filter(defect=defect).latest("created_at", "id").body
    keys = [row["key"] for row in client.get("/api/v1/defects/?regressed=1").json()["results"]]
    assert keys == [defect.key]


def test_an_older_release_does_not_reopen_what_a_newer_release_fixed(project, api_client_for, qa):
    old = ReleaseFactory(project=project, version="1.0.0")
    new = ReleaseFactory(project=project, version="2.0.0")
    client = api_client_for(qa)
    run = upload(client, new, report("failed"), "n1")
    result = run.results.get(status="failed")
    assert client.post(f"/api/v1/results/{result.pk}/defect/", {}, format="json").status_code == 201
    defect = Defect.objects.get()
    defect_transition(defect=defect, to="resolved", by=qa, resolution="fixed")
    upload(client, old, report("failed"), "o1")
    defect.refresh_from_db()
    assert defect.status == "resolved" and not tm.TestRegression.objects.exists()


def test_a_report_on_the_staging_path_reopens_the_defect_too(release, resolved_defect, settings):
    # large reports are settled in SQL on PostgreSQL (testing/ingest_staged.py); here every report is
    settings.QUALITYGOV_JUNIT_STAGED_BYTES = 0
    client, defect = resolved_defect
    later = ReleaseFactory(project=release.project, version="2.5.0")
    run = upload(client, later, report("failed"), "r3")
    defect.refresh_from_db()
    assert defect.status == "reopened"
    failing = run.results.get(test_case__name="test_refund")
    assert (
        failing.test_case_id
        == tm.TestResult.objects.filter(run__revision="r1").get(status="failed").test_case_id
    )
    assert tm.TestRegression.objects.get().result == failing
