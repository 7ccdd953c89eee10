"""Requirement and test case forms, bulk linking and completing a manual run, in a real browser."""

import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from testing import models as tm
from testing import services
from tests import factories as f

SHOTS = Path(tempfile.gettempdir())
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_requirement_create_edit_and_link(login, project, release, qa):
    f.TestCaseFactory(project=project, title="Statement export happy path")
    f.TestCaseFactory(project=project, title="Statement export with no rows")
    page = login(qa)
    page.goto(f"/requirements/new/?project={project.key}")
    page.fill("#id_key", "REQ-7")
    page.fill("#id_title", "Export statements")
    page.select_option("#id_releases", str(release.pk))
    page.click("#requirement-form button[type=submit]")
    requirement = tm.Requirement.objects.get(key="REQ-7")
    page.wait_for_url(f"**/requirements/{requirement.pk}/")
    expect(page.locator(".messages")).to_contain_text("Requirement REQ-7 created.")
    # edit: new title and criticality, shown on the detail page
    page.get_by_role("link", name="Edit", exact=True).click()
    page.wait_for_url(f"**/requirements/{requirement.pk}/edit/")
    page.fill("#id_title", "Export monthly statements")
    page.select_option("#id_criticality", "high")
    page.click("#requirement-form button[type=submit]")
    page.wait_for_url(f"**/requirements/{requirement.pk}/")
    expect(page.locator("h1")).to_contain_text("REQ-7 · Export monthly statements")
    requirement.refresh_from_db()
    assert (requirement.title, requirement.criticality) == ("Export monthly statements", "high")
    # link both statement cases found by the search, then unlink one
    page.fill("#link-q", "Statement export")
    page.click("#link-search button[type=submit]")
    boxes = page.locator("#link-form input[name=test_cases]")
    expect(boxes).to_have_count(2)
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.click("#link-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("2 test case(s)")
    rows = page.locator("#requirement-cases tbody tr")
    expect(rows).to_have_count(2)
    assert requirement.test_cases.count() == 2
    page.locator("#requirement-cases tbody tr", has_text="no rows").locator("input[type=checkbox]").check()
    page.click("#unlink-form button[type=submit]")
    expect(rows).to_have_count(1)
    expect(page.locator("#requirement-cases")).to_contain_text("happy path")
    assert list(requirement.test_cases.values_list("title", flat=True)) == ["Statement export happy path"]
    page.screenshot(path=SHOTS / "h5-requirement-detail.png", full_page=True)
    assert page.js_errors == []


def test_testcase_create_edit_and_bulk_link(login, project, release, qa):
    req = f.RequirementFactory(project=project, key="REQ-3", title="Refunds")
    f.TestCaseFactory(project=project, title="Refund by card")
    f.TestCaseFactory(project=project, title="Refund by transfer")
    f.TestCaseFactory(project=project, title="Login")
    page = login(qa)
    page.goto(f"/testcases/new/?project={project.key}")
    page.fill("#id_title", "Refund in two parts")
    page.fill("#id_steps", "Refund half => half refunded\nRefund the rest => fully refunded")
    page.click("#testcase-form button[type=submit]")
    page.wait_for_url(f"**/testcases/?project={project.key}")
    expect(page.locator(".messages")).to_contain_text("Refund in two parts")
    case = tm.TestCase.objects.get(title="Refund in two parts")
    assert [s["expected"] for s in case.steps] == ["half refunded", "fully refunded"]
    # edit it from the list
    page.locator(f"#testcases tr[data-case='{case.pk}']").get_by_role("link", name="edit").click()
    page.wait_for_url(f"**/testcases/{case.pk}/edit/")
    page.fill("#id_title", "Partial refund in two steps")
    page.fill("#id_component", "billing")
    page.click("#testcase-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("saved")
    case.refresh_from_db()
    assert (case.title, case.component) == ("Partial refund in two steps", "billing")
    # bulk link the refund cases to REQ-3
    page.goto(f"/testcases/?project={project.key}&q=Refund")
    rows = page.locator("#testcases tbody tr[data-case]")
    expect(rows).to_have_count(3)
    page.locator("#testcases thead input[type=checkbox]").check()  # select all on the page
    page.select_option("#bulk-requirements", str(req.pk))
    page.click("#bulk-link button[type=submit]")
    page.wait_for_url(f"**/testcases/?project={project.key}")
    expect(page.locator(".messages")).to_contain_text("3 link(s) changed.")
    expect(page.locator("#testcases tbody tr", has_text="Refund by card")).to_contain_text("REQ-3")
    assert set(req.test_cases.values_list("title", flat=True)) == {
        "Refund by card",
        "Refund by transfer",
        "Partial refund in two steps",
    }
    page.screenshot(path=SHOTS / "h5-testcases.png", full_page=True)
    assert page.js_errors == []


def test_manual_run_execute_and_complete(login, project, release, qa):
    ok = f.TestCaseFactory(
        project=project, title="Pay by card", steps=[{"action": "Pay", "expected": "Paid"}]
    )
    ko = f.TestCaseFactory(project=project, title="Pay by voucher")
    skipped = f.TestCaseFactory(project=project, title="Pay by cheque")
    run = services.manual_run_create(release=release, by=qa, test_case_ids=[ok.pk, ko.pk, skipped.pk])
    page = login(qa)
    page.goto(f"/runs/{run.pk}/execute/")
    counts = page.locator("#run-counts")
    # record a pass by its step, then a failure with a comment; the counters refresh after each (htmx)
    card = page.locator(f"#case-{ok.pk}")
    card.locator("select[name='step-0-status']").select_option("passed")
    card.locator("button[type=submit]").click()
    expect(page.locator(f"#case-{ok.pk} [data-outcome]")).to_have_text("passed")
    expect(counts.locator(".tile", has_text="passed").locator(".value")).to_have_text("1")
    card = page.locator(f"#case-{ko.pk}")
    card.locator("select[name='status']").select_option("failed")
    card.locator("input[name='comment']").fill("Voucher code rejected")
    card.locator("button[type=submit]").click()
    expect(page.locator(f"#case-{ko.pk} [data-outcome]")).to_have_text("failed")
    expect(counts.locator(".tile", has_text="failed").locator(".value")).to_have_text("1")
    page.screenshot(path=SHOTS / "h5-run-execute.png", full_page=True)
    # complete the run: the run page says so and the run is closed
    page.click("#complete-run")
    page.wait_for_url(f"**/runs/{run.pk}/")
    expect(page.locator(".messages")).to_contain_text("Run completed.")
    run.refresh_from_db()
    assert run.status == "completed" and run.finished_at is not None
    assert dict(run.results.values_list("test_case__title", "status")) == {
        "Pay by card": "passed",
        "Pay by voucher": "failed",
    }
    page.goto(f"/runs/{run.pk}/execute/")
    expect(page.locator("#complete-run")).to_have_count(0)
    expect(page.locator("main .toolbar")).to_contain_text("completed")
    assert page.js_errors == []
