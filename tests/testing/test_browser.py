"""Testers in a real browser: plan and execute a manual run, file a defect from a failure, read the matrix
gaps and a CI run's comparison with the previous run."""

import datetime as dt
import re
import tempfile
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from defects.models import Defect
from testing import models as tm
from tests import factories as f

SHOTS = Path(tempfile.gettempdir())
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_tester_executes_manual_run_step_by_step_and_files_a_defect(login, project, release, qa):
    # given a requirement verified by a manual case with two steps, and a one-step case
    req = f.RequirementFactory(project=project, key="REQ-12", title="Refund within 5 days")
    f.in_scope(req, release)
    refund = f.TestCaseFactory(
        project=project,
        title="Refund a card payment",
        component="billing",
        steps=[
            {"action": "Open the order", "expected": "Order shown"},
            {"action": "Press refund", "expected": "Refund confirmed"},
        ],
    )
    f.link(refund, req)
    f.TestCaseFactory(
        project=project,
        title="Print receipt",
        component="billing",
        steps=[{"action": "Print", "expected": "Receipt"}],
    )
    f.TestCaseFactory(project=project, title="Unrelated", component="search")
    page = login(qa)

    # when the tester selects by component and creates the run
    page.goto(f"/releases/{release.pk}/runs/new/")
    page.fill("#s-component", "billing")
    # (issue 16: the list starts at the release's scope; the receipt case verifies no requirement in scope)
    page.select_option("#s-scope", "all")
    page.click("#selection-filters button[type=submit]")
    expect(page.locator("#candidates tbody tr")).to_have_count(2)
    page.check("#candidates input[aria-label='select Print receipt']")
    page.screenshot(path=SHOTS / "testing_run_create.png", full_page=True)
    page.fill("#id_name", "Billing smoke")
    page.select_option("#id_environment", "staging")
    page.click("#create-run")
    page.wait_for_url("**/execute/")
    run = tm.TestRun.objects.get()
    assert run.tests == 2 and run.environment == "staging"

    # and executes the refund case step by step: step 2 fails (htmx swap, no reload)
    card = page.locator(f"#case-{refund.pk}")
    card.locator("select[name='step-0-status']").select_option("passed")
    card.locator("select[name='step-1-status']").select_option("failed")
    card.locator("input[name='step-1-comment']").fill("Refund button does nothing")
    card.locator("select[name='status']").select_option("")
    card.locator("button[type=submit]").click()
    expect(page.locator(f"#case-{refund.pk} [data-outcome]")).to_have_text("failed")
    expect(page.locator("#run-counts")).to_contain_text("1")
    page.screenshot(path=SHOTS / "testing_run_execute.png", full_page=True)
    result = tm.TestResult.objects.get(test_case=refund)
    assert result.status == "failed" and result.step_results[1]["comment"] == "Refund button does nothing"

    # then "File defect" opens the prefilled form to review (issue 16), and filing links it both ways
    page.locator(f"#case-{refund.pk} .file-defect").click()
    page.wait_for_url(f"**/results/{result.pk}/defect/")
    expect(page.locator("#id_title")).to_have_value(re.compile("^Refund a card payment"))
    page.click("#file-defect-submit")
    page.wait_for_url("**/defects/PAY-*/")
    defect = Defect.objects.get()
    assert defect.title.startswith("Refund a card payment")
    assert list(defect.requirements.all()) == [req]
    assert list(defect.test_results.all()) == [result]
    assert defect.found_in_release == release and defect.found_in_environment == "staging"
    assert page.js_errors == []


def test_matrix_page_gap_filter_and_csv(login, project, release, viewer):
    # given three requirements in scope: one verified, one without tests, one failing
    now = timezone.now()
    keys = {}
    for key in ("REQ-1", "REQ-2", "REQ-3"):
        keys[key] = f.RequirementFactory(project=project, key=key, title=f"Requirement {key}")
        f.in_scope(keys[key], release)
    run = f.TestRunFactory(release=release, started_at=now, finished_at=now)
    ok = f.TestResultFactory(run=run, status="passed", test_case__title="passes")
    bad = f.TestResultFactory(run=run, status="failed", test_case__title="fails")
    f.link(ok.test_case, keys["REQ-1"])
    f.link(bad.test_case, keys["REQ-3"])
    page = login(viewer)

    page.goto(f"/releases/{release.pk}/traceability/")
    expect(page.locator("#matrix tbody tr")).to_have_count(3)
    page.screenshot(path=SHOTS / "testing_matrix.png", full_page=True)
    # when the gap filter "without test cases" is chosen
    page.select_option("#f-gap", "no_tests")
    page.click("#matrix-filters button[type=submit]")
    # then only REQ-2 remains
    expect(page.locator("#matrix tbody tr")).to_have_count(1)
    expect(page.locator("#matrix tbody tr")).to_have_attribute("data-requirement", "REQ-2")
    page.select_option("#f-gap", "failing")
    page.click("#matrix-filters button[type=submit]")
    expect(page.locator("#matrix tbody tr")).to_have_attribute("data-requirement", "REQ-3")
    with page.expect_download() as download:
        page.click("#csv-export")
    assert "REQ-3" in Path(download.value.path()).read_text(encoding="utf-8")
    assert page.js_errors == []


def test_run_page_shows_comparison_and_escapes_messages(login, project, release, qa):
    # given two CI runs of the release
    t = timezone.now() - dt.timedelta(hours=3)
    a, b, c = (
        f.TestCaseFactory(project=project, title=t_, suite="api") for t_ in ("test_a", "test_b", "test_c")
    )
    prev = f.TestRunFactory(release=release, name="build-1", started_at=t, finished_at=t)
    cur = f.TestRunFactory(
        release=release,
        name="build-2",
        started_at=t + dt.timedelta(hours=1),
        finished_at=t + dt.timedelta(hours=1),
        tests=3,
        passed=1,
        failed=2,
    )
    for case, before, now, msg in (
        (a, "passed", "failed", "<img src=x onerror=alert(1)>"),
        (b, "failed", "passed", ""),
        (c, "failed", "failed", "still"),
    ):
        f.TestResultFactory(run=prev, test_case=case, status=before)
        f.TestResultFactory(run=cur, test_case=case, status=now, message=msg)
    page = login(qa)

    page.goto(f"/runs/{cur.pk}/")
    expect(page.locator("#new-failures")).to_contain_text("test_a")
    expect(page.locator("#fixed")).to_contain_text("test_b")
    expect(page.locator("#still-failing")).to_contain_text("test_c")
    # the hostile message is text, not an element
    expect(page.locator("#results")).to_contain_text("<img src=x onerror=alert(1)>")
    assert page.locator("#results img").count() == 0
    page.screenshot(path=SHOTS / "testing_run_detail.png", full_page=True)
    # filter failed only
    page.select_option("#f-status", "failed")
    page.click("#result-filters button[type=submit]")
    expect(page.locator("#results tbody tr")).to_have_count(2)
    assert page.js_errors == []


def test_requirements_and_test_cases_pages_click_through(login, project, release, qa):
    f.TestCaseFactory(project=project, title="Existing case")
    page = login(qa)
    page.goto("/requirements/?project=PAY")
    page.click("#new-requirement")
    page.fill("#id_key", "REQ-40")
    page.fill("#id_title", "Export statements")
    page.select_option("#id_releases", str(release.pk))
    page.click("#requirement-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("REQ-40")
    # link an existing case from the requirement page
    page.fill("#link-q", "Existing")
    page.click("#link-search button[type=submit]")
    page.check("#link-form input[name=test_cases]")
    page.click("#link-form button[type=submit]")
    expect(page.locator("#requirement-cases")).to_contain_text("Existing case")
    page.screenshot(path=SHOTS / "testing_requirement_detail.png", full_page=True)
    page.goto("/testcases/?project=PAY")
    expect(page.locator("#testcases")).to_contain_text("REQ-40")
    page.screenshot(path=SHOTS / "testing_testcases.png", full_page=True)
    page.goto("/requirements/?project=PAY")
    page.screenshot(path=SHOTS / "testing_requirements.png", full_page=True)
    # create a manual test case with steps, linked to the requirement
    page.goto("/testcases/?project=PAY")
    page.click("#new-testcase")
    page.fill("#id_title", "Download PDF statement")
    page.fill("#id_steps", "Open statements => list shown\nClick PDF => file downloaded")
    page.select_option("#id_requirements", label="REQ-40 Export statements")
    page.click("#testcase-form button[type=submit]")
    expect(page.locator("#testcases")).to_contain_text("Download PDF statement")
    case = tm.TestCase.objects.get(title="Download PDF statement")
    assert len(case.steps) == 2 and case.requirements.get().key == "REQ-40"
    # the runs list of the release
    f.TestRunFactory(release=release, name="nightly-7", tests=10, passed=9, failed=1)
    page.goto(f"/runs/?release={release.pk}")
    expect(page.locator("#runs")).to_contain_text("nightly-7")
    page.screenshot(path=SHOTS / "testing_runs.png", full_page=True)
    assert page.js_errors == []
