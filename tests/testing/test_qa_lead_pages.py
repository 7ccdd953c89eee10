"""Issue 16 on the testing pages, without a browser: filing a defect from a failure (review form, linked both
ways, idempotent in the page, the API and the service), manual execution that keeps what was typed and allows
partial step outcomes, run planning by kind and scope."""

import pytest

from defects.models import Defect
from testing import models as tm
from testing.services import defect_file_from_result, manual_result_record, manual_run_create
from tests import factories as f

pytestmark = pytest.mark.django_db

STEPS = [{"action": f"step {i}", "expected": f"ok {i}"} for i in range(1, 5)]


@pytest.fixture
def qa_client(client, qa):
    client.force_login(qa)
    return client


def _failed_result(release, qa):
    case = f.TestCaseFactory(project=release.project, title="Refund a card payment", component="payments")
    run = manual_run_create(release=release, by=qa, test_case_ids=[case.pk], environment="staging")
    return manual_result_record(run=run, test_case=case, by=qa, status="failed", comment="button dead")


# --- file a defect from a failed result -------------------------------------------------------------------


def test_file_defect_shows_a_prefilled_form_and_writes_nothing(qa_client, qa, release):
    result = _failed_result(release, qa)
    response = qa_client.get(f"/results/{result.pk}/defect/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="Refund a card payment failed"' in html and "button dead" in html and "payments" in html
    assert not Defect.objects.exists()


def test_reviewed_defect_is_filed_linked_both_ways_and_a_second_click_shows_it(qa_client, qa, release):
    result = _failed_result(release, qa)
    response = qa_client.post(
        f"/results/{result.pk}/defect/",
        {
            "title": "Refund button dead on staging",
            "severity": "critical",
            "priority": "high",
            "component": "payments",
            "description": "Seen twice.",
        },
    )
    defect = Defect.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/defects/{defect.key}/")
    assert (defect.title, defect.severity, defect.priority) == (
        "Refund button dead on staging",
        "critical",
        "high",
    )
    # linked both ways: the run page and the worklist name the defect, the defect page links the run
    assert defect.key in qa_client.get(f"/runs/{result.run_id}/").content.decode()
    assert defect.key in qa_client.get(f"/runs/{result.run_id}/execute/").content.decode()
    assert f"/runs/{result.run_id}/" in qa_client.get(f"/defects/{defect.key}/").content.decode()
    # a second click (GET or POST) shows the existing defect and files no twin
    again = qa_client.get(f"/results/{result.pk}/defect/")
    assert again.status_code == 302 and again["Location"].endswith(f"/defects/{defect.key}/")
    again = qa_client.post(f"/results/{result.pk}/defect/", {"title": "twin"})
    assert again["Location"].endswith(f"/defects/{defect.key}/")
    assert Defect.objects.count() == 1


def test_service_and_api_are_idempotent_too(api_client_for, qa, release):
    result = _failed_result(release, qa)
    first, created = defect_file_from_result(result=result, by=qa)
    second, created_again = defect_file_from_result(result=result, by=qa, title="another")
    assert created and not created_again and first == second
    response = api_client_for(qa).post(f"/api/v1/results/{result.pk}/defect/", {}, format="json")
    assert response.status_code == 200 and response.json() == {
        "id": first.pk,
        "key": first.key,
        "created": False,
    }
    assert Defect.objects.count() == 1


def test_viewer_gets_403_on_the_review_form(client, viewer, qa, release):
    result = _failed_result(release, qa)
    client.force_login(viewer)
    assert client.get(f"/results/{result.pk}/defect/").status_code == 403
    assert client.post(f"/results/{result.pk}/defect/", {"title": "x"}).status_code == 403
    assert not Defect.objects.exists()


# --- manual execution: partial outcomes, nothing typed is lost -------------------------------------------


def _run_with_steps(release, qa):
    case = f.TestCaseFactory(project=release.project, title="Four steps", steps=STEPS)
    return case, manual_run_create(release=release, by=qa, test_case_ids=[case.pk])


def test_steps_after_a_failed_one_may_stay_empty(qa_client, qa, release):
    case, run = _run_with_steps(release, qa)
    response = qa_client.post(
        f"/runs/{run.pk}/execute/{case.pk}/",
        {"step-0-status": "passed", "step-1-status": "failed", "step-1-comment": "no refund"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    result = tm.TestResult.objects.get()
    assert result.status == "failed"
    assert [s["status"] for s in result.step_results] == ["passed", "failed", "", ""]


def test_refused_outcome_keeps_every_step_and_note_typed(qa_client, qa, release):
    case, run = _run_with_steps(release, qa)
    typed = {
        "step-0-status": "passed",
        "step-0-comment": "login ok",
        "step-1-status": "passed",
        "step-2-comment": "half way, not sure",
        "comment": "needs a second look",
    }
    for headers in ({"HTTP_HX_REQUEST": "true"}, {}):
        response = qa_client.post(f"/runs/{run.pk}/execute/{case.pk}/", typed, **headers)
        html = response.content.decode()
        assert "Steps 3, 4 have no outcome" in html
        assert html.count('value="passed" selected') == 2
        for text in ("login ok", "half way, not sure", "needs a second look"):
            assert f'value="{text}"' in html
    assert response.status_code == 400  # the plain form post re-renders the page instead of redirecting
    assert not tm.TestResult.objects.exists()


# --- planning a manual run -------------------------------------------------------------------------------


def test_planning_ticks_only_manual_cases_in_the_release_scope(qa_client, project, release):
    req = f.RequirementFactory(project=project, key="REQ-1")
    f.in_scope(req, release)
    other_req = f.RequirementFactory(project=project, key="REQ-2")
    manual_in = f.TestCaseFactory(project=project, title="manual in scope", kind="manual", steps=STEPS)
    auto_in = f.TestCaseFactory(project=project, title="automated in scope", kind="automated")
    manual_out = f.TestCaseFactory(project=project, title="manual out of scope", kind="manual")
    f.link(manual_in, req)
    f.link(auto_in, req)
    f.link(manual_out, other_req)

    response = qa_client.get(f"/releases/{release.pk}/runs/new/")
    rows = {c.title: c.preselected for c in response.context["candidates"]}
    assert rows == {"manual in scope": True, "automated in scope": False}  # scope filter on by default

    response = qa_client.get(f"/releases/{release.pk}/runs/new/?scope=all")
    rows = {c.title: c.preselected for c in response.context["candidates"]}
    assert rows == {"manual in scope": True, "automated in scope": False, "manual out of scope": False}

    response = qa_client.get(f"/releases/{release.pk}/runs/new/?scope=all&kind=automated")
    assert [c.title for c in response.context["candidates"]] == ["automated in scope"]


def test_refused_plan_keeps_the_ticks_and_the_name(qa_client, project, release):
    a = f.TestCaseFactory(project=project, title="a", kind="manual")
    f.TestCaseFactory(project=project, title="b", kind="manual")
    response = qa_client.post(
        f"/releases/{release.pk}/runs/new/",
        {
            "create": "1",
            "name": "Evening run",
            "environment": "nowhere",
            "test_cases": [a.pk],
            "scope": "all",
        },
    )
    assert response.status_code == 400
    assert {c.title: c.preselected for c in response.context["candidates"]} == {"a": True, "b": False}
    assert 'value="Evening run"' in response.content.decode()
    assert not tm.TestRun.objects.exists()
