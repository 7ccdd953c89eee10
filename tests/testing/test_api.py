"""Requirements, test cases, runs and manual results over the API: wiring, roles, refusals, bounded queries."""

import pytest

from defects.models import Defect
from testing import models as tm
from testing.services import manual_run_create
from tests import factories as f


@pytest.fixture
def qa_api(api_client_for, qa):
    return api_client_for(qa)


@pytest.fixture
def viewer_api(api_client_for, viewer):
    return api_client_for(viewer)


def test_requirement_crud(qa_api, project, release):
    # create
    r = qa_api.post(
        "/api/v1/requirements/",
        {"project": "PAY", "key": "REQ-5", "title": "Refund", "releases": [release.pk]},
        format="json",
    )
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert r.json()["releases"] == [release.pk]
    # read, filter
    assert qa_api.get(f"/api/v1/requirements/{pk}/").json()["key"] == "REQ-5"
    assert qa_api.get("/api/v1/requirements/?q=refund").json()["count"] == 1
    assert qa_api.get(f"/api/v1/requirements/?release={release.pk}").json()["count"] == 1
    # update
    r = qa_api.patch(
        f"/api/v1/requirements/{pk}/", {"title": "Refunds", "criticality": "high"}, format="json"
    )
    assert r.status_code == 200 and r.json()["title"] == "Refunds"
    # delete
    assert qa_api.delete(f"/api/v1/requirements/{pk}/").status_code == 204
    assert not tm.Requirement.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"project": "PAY", "key": "", "title": "x"}, "key"),
        ({"project": "PAY", "key": "1bad key", "title": "x"}, "key"),
        ({"project": "PAY", "key": "REQ-1", "title": "x", "criticality": "huge"}, "criticality"),
        ({"project": "PAY", "key": "REQ-1", "title": "x", "releases": [99999]}, "releases"),
    ],
)
def test_requirement_bad_input_is_400_with_field(qa_api, project, payload, field):
    r = qa_api.post("/api/v1/requirements/", payload, format="json")
    assert r.status_code == 400 and field in r.json()
    assert not tm.Requirement.objects.exists()


def test_duplicate_requirement_key_is_409(qa_api, project):
    f.RequirementFactory(project=project, key="REQ-1")
    r = qa_api.post("/api/v1/requirements/", {"project": "PAY", "key": "req-1", "title": "x"}, format="json")
    assert r.status_code == 409
    assert tm.Requirement.objects.count() == 1


def test_viewer_cannot_write_requirements_or_test_cases(viewer_api, project):
    req = f.RequirementFactory(project=project, key="REQ-1", title="Keep")
    assert (
        viewer_api.post(
            "/api/v1/requirements/", {"project": "PAY", "key": "REQ-2", "title": "x"}, format="json"
        ).status_code
        == 403
    )
    assert (
        viewer_api.patch(f"/api/v1/requirements/{req.pk}/", {"title": "Changed"}, format="json").status_code
        == 403
    )
    assert viewer_api.delete(f"/api/v1/requirements/{req.pk}/").status_code == 403
    assert (
        viewer_api.post("/api/v1/testcases/", {"project": "PAY", "title": "x"}, format="json").status_code
        == 403
    )
    req.refresh_from_db()
    assert req.title == "Keep" and tm.Requirement.objects.count() == 1 and not tm.TestCase.objects.exists()


def test_other_projects_objects_are_404(qa_api):
    other = f.RequirementFactory()
    assert qa_api.get(f"/api/v1/requirements/{other.pk}/").status_code == 404
    assert (
        qa_api.post(
            "/api/v1/requirements/", {"project": other.project.key, "key": "R-1", "title": "x"}, format="json"
        ).status_code
        == 404
    )


def test_testcase_crud_with_steps_and_filters(qa_api, project):
    req = f.RequirementFactory(project=project, key="REQ-1")
    r = qa_api.post(
        "/api/v1/testcases/",
        {
            "project": "PAY",
            "title": "Pay",
            "component": "checkout",
            "requirements": [req.pk],
            "steps": [{"action": "Open", "expected": "Shown"}, {"action": "Pay"}],
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert r.json()["requirements"] == ["REQ-1"] and len(r.json()["steps"]) == 2
    assert qa_api.get("/api/v1/testcases/?component=checkout").json()["count"] == 1
    assert qa_api.get(f"/api/v1/testcases/?requirement={req.pk}").json()["count"] == 1
    assert qa_api.get("/api/v1/testcases/?kind=automated").json()["count"] == 0
    r = qa_api.patch(f"/api/v1/testcases/{pk}/", {"steps": [], "requirements": []}, format="json")
    assert r.status_code == 200 and r.json()["steps"] == [] and r.json()["requirements"] == []
    assert qa_api.delete(f"/api/v1/testcases/{pk}/").status_code == 204


def test_bulk_link_endpoint_links_and_unlinks(qa_api, viewer_api, project):
    cases = f.TestCaseFactory.create_batch(3, project=project)
    reqs = f.RequirementFactory.create_batch(2, project=project)
    body = {"project": "PAY", "test_cases": [c.pk for c in cases], "requirements": [r.pk for r in reqs]}
    # a viewer is refused, nothing linked
    assert viewer_api.post("/api/v1/testcases/bulk-link/", body, format="json").status_code == 403
    assert tm.TestCase.requirements.through.objects.count() == 0
    # a QA links 3x2
    r = qa_api.post("/api/v1/testcases/bulk-link/", body, format="json")
    assert r.status_code == 200 and r.json() == {"changed": 6}
    # linking again changes nothing
    assert qa_api.post("/api/v1/testcases/bulk-link/", body, format="json").json() == {"changed": 0}
    # unlink
    assert qa_api.post("/api/v1/testcases/bulk-link/", {**body, "unlink": True}, format="json").json() == {
        "changed": 6
    }
    # a foreign test case is refused
    foreign = f.TestCaseFactory()
    r = qa_api.post("/api/v1/testcases/bulk-link/", {**body, "test_cases": [foreign.pk]}, format="json")
    assert r.status_code == 400 and tm.TestCase.requirements.through.objects.count() == 0


def test_manual_run_over_the_api(qa_api, viewer_api, project, release):
    case = f.TestCaseFactory(project=project, steps=[{"action": "a", "expected": "b"}])
    # plan
    r = qa_api.post(
        f"/api/v1/releases/{release.pk}/runs/", {"test_cases": [case.pk], "name": "API run"}, format="json"
    )
    assert r.status_code == 201, r.content
    run_id = r.json()["id"]
    # a viewer cannot record
    url = f"/api/v1/runs/{run_id}/results/"
    assert viewer_api.post(url, {"test_case": case.pk, "status": "passed"}, format="json").status_code == 403
    assert not tm.TestResult.objects.exists()
    # wrong number of step results is refused
    r = qa_api.post(
        url,
        {"test_case": case.pk, "step_results": [{"status": "passed"}, {"status": "passed"}]},
        format="json",
    )
    assert r.status_code == 400 and "step_results" in r.json()
    # status derived from steps
    r = qa_api.post(
        url,
        {"test_case": case.pk, "step_results": [{"status": "blocked", "comment": "env down"}]},
        format="json",
    )
    assert r.status_code == 201 and r.json()["status"] == "blocked"
    # listed with filters
    assert qa_api.get(url + "?status=blocked").json()["count"] == 1
    # file a defect from it
    r = qa_api.post(f"/api/v1/results/{r.json()['id']}/defect/", {"severity": "critical"}, format="json")
    assert r.status_code == 201
    assert Defect.objects.get().severity == "critical"
    # complete; then no more results
    assert qa_api.post(f"/api/v1/runs/{run_id}/complete/").json()["status"] == "completed"
    r = qa_api.post(url, {"test_case": case.pk, "status": "passed"}, format="json")
    assert r.status_code == 409
    assert tm.TestResult.objects.get().status == "blocked"


def test_recording_on_a_ci_run_is_refused(qa_api, release, project):
    result = f.TestResultFactory(run__release=release)
    r = qa_api.post(
        f"/api/v1/runs/{result.run_id}/results/",
        {"test_case": result.test_case_id, "status": "failed"},
        format="json",
    )
    assert r.status_code == 400
    result.refresh_from_db()
    assert result.status == "passed"


def test_filing_a_defect_from_a_passed_result_is_refused(qa_api, release):
    result = f.TestResultFactory(run__release=release, status="passed")
    r = qa_api.post(f"/api/v1/results/{result.pk}/defect/", {}, format="json")
    assert r.status_code == 400
    assert not Defect.objects.exists()


def test_run_comparison_endpoint(qa_api, release, project):
    import datetime as dt

    from django.utils import timezone

    t = timezone.now() - dt.timedelta(hours=5)
    a, b, c = f.TestCaseFactory.create_batch(3, project=project)
    prev = f.TestRunFactory(release=release, started_at=t, finished_at=t)
    cur = f.TestRunFactory(
        release=release, started_at=t + dt.timedelta(hours=1), finished_at=t + dt.timedelta(hours=1)
    )
    for case, before, now in ((a, "passed", "failed"), (b, "failed", "passed"), (c, "error", "failed")):
        f.TestResultFactory(run=prev, test_case=case, status=before)
        f.TestResultFactory(run=cur, test_case=case, status=now)
    body = qa_api.get(f"/api/v1/runs/{cur.pk}/comparison/").json()
    assert body["previous_run"] == prev.pk
    assert [x["test_case"] for x in body["new_failures"]] == [a.pk]
    assert [x["test_case"] for x in body["fixed"]] == [b.pk]
    assert [x["test_case"] for x in body["still_failing"]] == [c.pk]


@pytest.mark.parametrize("n", [3, 20])
def test_api_lists_are_bounded(qa_api, project, release, qa, django_assert_max_num_queries, n):
    for _ in range(n):
        req = f.RequirementFactory(project=project)
        f.in_scope(req, release)
        result = f.TestResultFactory(run__release=release)
        f.link(result.test_case, req)
    run = tm.TestRun.objects.first()
    manual_run_create(release=release, by=qa, test_case_ids=[tm.TestCase.objects.first().pk])
    for url in [
        "/api/v1/requirements/",
        "/api/v1/testcases/",
        "/api/v1/runs/",
        f"/api/v1/runs/{run.pk}/results/",
        f"/api/v1/releases/{release.pk}/traceability/",
    ]:
        with django_assert_max_num_queries(10):
            assert qa_api.get(url).status_code == 200, url
