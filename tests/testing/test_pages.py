"""Pages: wiring, permissions (403 and nothing written), escaping, bounded queries."""

import pytest

from defects.models import Defect
from testing import models as tm
from testing.services import manual_result_record, manual_run_create
from tests import factories as f


@pytest.fixture
def qa_client(client, qa):
    user = qa
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


def test_requirement_create_page_creates_and_redirects(qa_client, project, release):
    # when a QA creates a requirement in the release's scope
    response = qa_client.post(
        "/requirements/new/?project=PAY",
        {"key": "req-7", "title": "Refunds within 5 days", "criticality": "high", "releases": [release.pk]},
    )
    # then it exists, upper-cased, in scope
    requirement = tm.Requirement.objects.get()
    assert response.status_code == 302 and requirement.key == "REQ-7"
    assert list(requirement.releases.all()) == [release]


def test_requirement_create_refused_for_viewer(viewer_client, project):
    response = viewer_client.post(
        "/requirements/new/?project=PAY", {"key": "REQ-1", "title": "x", "criticality": "low"}
    )
    assert response.status_code == 403
    assert not tm.Requirement.objects.exists()


def test_duplicate_requirement_key_shows_form_error(qa_client, project):
    f.RequirementFactory(project=project, key="REQ-1")
    response = qa_client.post(
        "/requirements/new/?project=PAY", {"key": "REQ-1", "title": "x", "criticality": "low"}
    )
    assert response.status_code == 400
    assert b"already has a requirement" in response.content
    assert tm.Requirement.objects.count() == 1


def test_testcase_create_with_steps_and_requirement(qa_client, project):
    req = f.RequirementFactory(project=project, key="REQ-1")
    response = qa_client.post(
        "/testcases/new/?project=PAY",
        {
            "title": "Pay by card",
            "kind": "manual",
            "steps": "Open cart => cart shown\nPay => receipt",
            "requirements": [req.pk],
        },
    )
    assert response.status_code == 302
    case = tm.TestCase.objects.get()
    assert case.steps == [
        {"action": "Open cart", "expected": "cart shown"},
        {"action": "Pay", "expected": "receipt"},
    ]
    assert list(case.requirements.all()) == [req]


def test_bulk_link_page_links_and_viewer_is_refused(qa_client, project, client, viewer):
    # given two cases and a requirement
    cases = f.TestCaseFactory.create_batch(2, project=project)
    req = f.RequirementFactory(project=project)
    # when a QA bulk-links them
    response = qa_client.post(
        "/testcases/bulk-link/",
        {"project": "PAY", "test_cases": [c.pk for c in cases], "requirements": [req.pk]},
    )
    assert response.status_code == 302
    assert req.test_cases.count() == 2
    # and a viewer cannot unlink
    client.force_login(viewer)
    response = client.post(
        "/testcases/bulk-link/",
        {"project": "PAY", "test_cases": [c.pk for c in cases], "requirements": [req.pk], "unlink": "1"},
    )
    assert response.status_code == 403
    assert req.test_cases.count() == 2


def test_run_page_escapes_failure_messages(qa_client, release):
    # given a CI result whose message is hostile HTML
    result = f.TestResultFactory(run__release=release, status="failed", message="<script>alert('x')</script>")
    # when the run page renders
    response = qa_client.get(f"/runs/{result.run_id}/")
    # then the message is shown escaped, never as markup
    assert response.status_code == 200
    assert b"<script>alert(" not in response.content
    assert b"&lt;script&gt;alert(" in response.content


def test_run_page_filters_by_status_and_flaky(qa_client, release):
    run = f.TestRunFactory(release=release)
    f.TestResultFactory(run=run, status="failed", test_case__title="T-fail")
    f.TestResultFactory(run=run, status="passed", flaky=True, test_case__title="T-flaky")
    f.TestResultFactory(run=run, status="passed", test_case__title="T-pass")
    body = qa_client.get(f"/runs/{run.pk}/?status=failed").content.decode()
    assert "T-fail" in body and "T-pass" not in body
    body = qa_client.get(f"/runs/{run.pk}/?flaky=yes").content.decode()
    assert "T-flaky" in body and "T-pass" not in body


def test_manual_run_create_execute_and_file_defect_from_page(qa_client, project, release):
    # given a requirement with a manual case with two steps
    req = f.RequirementFactory(project=project, key="REQ-3")
    case = f.TestCaseFactory(
        project=project,
        title="Refund",
        steps=[{"action": "a", "expected": "b"}, {"action": "c", "expected": "d"}],
    )
    f.link(case, req)
    # when the tester plans a run from the requirement selection
    response = qa_client.post(
        f"/releases/{release.pk}/runs/new/",
        {"create": "1", "name": "Smoke", "environment": "staging", "test_cases": [case.pk]},
    )
    run = tm.TestRun.objects.get()
    assert response.status_code == 302 and run.source == "manual" and run.status == "in_progress"
    # and records a failing step through htmx
    response = qa_client.post(
        f"/runs/{run.pk}/execute/{case.pk}/",
        {"step-0-status": "passed", "step-1-status": "failed", "step-1-comment": "refund missing"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    result = tm.TestResult.objects.get()
    assert result.status == "failed" and result.step_results[1] == {
        "status": "failed",
        "comment": "refund missing",
    }
    run.refresh_from_db()
    assert run.failed == 1
    # then one click files a linked defect
    response = qa_client.post(f"/results/{result.pk}/defect/")
    defect = Defect.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/defects/{defect.key}/")
    assert list(defect.test_results.all()) == [result]
    assert list(defect.test_cases.all()) == [case]
    assert list(defect.requirements.all()) == [req]
    assert defect.found_in_release == release and defect.found_in_environment == "staging"
    assert "refund missing" in defect.description


def test_viewer_cannot_plan_or_execute_runs(viewer_client, project, release, make_member):
    case = f.TestCaseFactory(project=project)
    response = viewer_client.post(
        f"/releases/{release.pk}/runs/new/", {"create": "1", "test_cases": [case.pk]}
    )
    assert response.status_code == 403
    assert not tm.TestRun.objects.exists()
    run = manual_run_create(release=release, by=make_member("qa", username="qa2"), test_case_ids=[case.pk])
    response = viewer_client.post(f"/runs/{run.pk}/execute/{case.pk}/", {"status": "passed"})
    assert response.status_code == 403
    assert not tm.TestResult.objects.exists()


def test_viewer_cannot_file_defect_from_result(viewer_client, release):
    result = f.TestResultFactory(run__release=release, status="failed")
    assert viewer_client.post(f"/results/{result.pk}/defect/").status_code == 403
    assert not Defect.objects.exists()


def test_release_page_lists_recent_runs(qa_client, release):
    f.TestRunFactory(release=release, name="nightly-42")
    response = qa_client.get(f"/releases/{release.pk}/")
    assert response.status_code == 200
    assert b"nightly-42" in response.content and b'id="release-runs"' in response.content


def _populate(project, release, n):
    """n requirements in scope, each with 2 cases with results, an open defect; plus n runs."""
    for _ in range(n):
        req = f.RequirementFactory(project=project)
        f.in_scope(req, release)
        run = f.TestRunFactory(release=release)
        for status in ("passed", "failed"):
            result = f.TestResultFactory(run=run, status=status)
            f.link(result.test_case, req)
        defect = f.DefectFactory(project=project, found_in_release=release, severity="critical")
        defect.requirements.add(req)


@pytest.mark.parametrize("n", [2, 12])
def test_pages_run_a_bounded_number_of_queries(qa_client, project, release, django_assert_max_num_queries, n):
    _populate(project, release, n)
    run = tm.TestRun.objects.first()
    req = tm.Requirement.objects.first()
    urls = [
        "/requirements/",
        "/requirements/?project=PAY",
        f"/requirements/{req.pk}/",
        "/testcases/?project=PAY",
        "/runs/",
        f"/runs/{run.pk}/",
        f"/releases/{release.pk}/traceability/",
        f"/releases/{release.pk}/traceability/?gap=failing",
        f"/releases/{release.pk}/runs/new/",
    ]
    for url in urls:
        with django_assert_max_num_queries(16):
            assert qa_client.get(url).status_code == 200, url


def test_execute_page_bounded_queries(qa_client, project, release, django_assert_max_num_queries):
    cases = f.TestCaseFactory.create_batch(15, project=project, steps=[{"action": "a", "expected": "b"}])
    run = manual_run_create(release=release, by=qa_client.user, test_case_ids=[c.pk for c in cases])
    for c in cases[:5]:
        manual_result_record(run=run, test_case=c, by=qa_client.user, status="failed")
    with django_assert_max_num_queries(14):
        assert qa_client.get(f"/runs/{run.pk}/execute/").status_code == 200
