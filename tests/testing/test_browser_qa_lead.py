"""Issue 16's testing traps in a real browser: planning ticks only manual cases in scope; a refused outcome
keeps every step outcome and note; steps after a failed one may stay empty; "File defect" opens a prefilled
form to review, links both ways, and a second click shows the filed defect."""

import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from defects.models import Defect
from testing import models as tm
from tests import factories as f

SHOTS = Path(tempfile.gettempdir())
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STEPS = [
    {"action": "Log in", "expected": "Home shown"},
    {"action": "Open the order", "expected": "Order shown"},
    {"action": "Press refund", "expected": "Refund confirmed"},
    {"action": "Open the e-mail", "expected": "Receipt"},
]


def test_plan_execute_keep_typed_and_file_once(login, make_member, project, release):
    req = f.RequirementFactory(project=project, key="REQ-1", title="Refunds")
    f.in_scope(req, release)
    refund = f.TestCaseFactory(project=project, title="Refund a card payment", kind="manual", steps=STEPS)
    api = f.TestCaseFactory(project=project, title="refund API contract", kind="automated")
    f.TestCaseFactory(project=project, title="Search by name", kind="manual")  # outside the scope
    f.link(refund, req)
    f.link(api, req)
    page = login(make_member("qa"))

    # planning: only the manual case in scope is ticked; the automated one is offered, unticked
    page.goto(f"/releases/{release.pk}/runs/new/")
    expect(page.locator("#candidates tbody tr")).to_have_count(2)
    expect(page.locator("#candidates input[aria-label='select Refund a card payment']")).to_be_checked()
    expect(page.locator("#candidates input[aria-label='select refund API contract']")).not_to_be_checked()
    page.select_option("#s-kind", "manual")
    page.click("#selection-filters button[type=submit]")
    expect(page.locator("#candidates tbody tr")).to_have_count(1)
    page.fill("#id_name", "Refund pass")
    page.click("#create-run")
    page.wait_for_url("**/execute/")
    run = tm.TestRun.objects.get()
    assert list(run.planned_cases.all()) == [refund]

    # a refused outcome keeps what was typed
    card = page.locator(f"#case-{refund.pk}")
    card.locator("select[name='step-0-status']").select_option("passed")
    card.locator("input[name='step-0-comment']").fill("logged in as ann")
    card.locator("select[name='step-1-status']").select_option("passed")
    card.locator("input[name='step-2-comment']").fill("spinner for 20 s")
    card.locator("input[name='comment']").fill("slow today")
    card.locator("button[type=submit]").click()
    expect(page.locator(f"#case-{refund.pk} [role=alert]")).to_contain_text("Steps 3, 4 have no outcome")
    card = page.locator(f"#case-{refund.pk}")
    expect(card.locator("select[name='step-0-status']")).to_have_value("passed")
    expect(card.locator("input[name='step-0-comment']")).to_have_value("logged in as ann")
    expect(card.locator("select[name='step-1-status']")).to_have_value("passed")
    expect(card.locator("input[name='step-2-comment']")).to_have_value("spinner for 20 s")
    expect(card.locator("input[name='comment']")).to_have_value("slow today")
    assert not tm.TestResult.objects.exists()

    # step 3 fails: step 4 may stay empty
    card.locator("select[name='step-2-status']").select_option("failed")
    card.locator("button[type=submit]").click()
    expect(page.locator(f"#case-{refund.pk} [data-outcome]")).to_have_text("failed")
    result = tm.TestResult.objects.get()
    assert [s["status"] for s in result.step_results] == ["passed", "passed", "failed", ""]

    # File defect: a prefilled form to review, then linked both ways
    page.locator(f"#case-{refund.pk} .file-defect").click()
    page.wait_for_url(f"**/results/{result.pk}/defect/")
    expect(page.locator("#id_title")).to_have_value("Refund a card payment failed")
    expect(page.locator("#id_description")).to_contain_text("spinner for 20 s")
    assert not Defect.objects.exists()
    page.screenshot(path=SHOTS / "testing_file_defect_review.png", full_page=True)
    page.fill("#id_title", "Refund spins forever")
    page.select_option("#id_severity", "critical")
    page.click("#file-defect-submit")
    page.wait_for_url("**/defects/PAY-*/")
    defect = Defect.objects.get()
    assert (defect.title, defect.severity) == ("Refund spins forever", "critical")
    expect(page.locator(f".linked-result[data-result='{result.pk}'] a")).to_have_attribute(
        "href", f"/runs/{run.pk}/?q=Refund%20a%20card%20payment"
    )
    page.goto(f"/runs/{run.pk}/execute/")
    expect(page.locator(f"#case-{refund.pk} .filed-defect-link")).to_have_text(defect.key)
    expect(page.locator(f"#case-{refund.pk} .file-defect")).to_have_count(0)

    # a second click (an old tab still showing the button) lands on the filed defect; no twin
    page.goto(f"/results/{result.pk}/defect/")
    page.wait_for_url(f"**/defects/{defect.key}/")
    expect(page.locator(".messages")).to_contain_text(f"already filed as {defect.key}")
    assert Defect.objects.count() == 1
    assert page.js_errors == []
