"""The Jira import page (dry run, then the real import, then a re-import) and the defect edit form, in a browser."""

import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from defects.models import Defect, DefectFieldChange
from releases.models import Release

SHOTS = Path(tempfile.gettempdir())
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = """Summary,Issue id,Status,Priority,Resolution,Created,Resolved,Affects Version/s
Refund fails with gateway timeout,3001,Open,Critical,,01/Oct/21 10:00,,3.1
Receipt shows the wrong currency,3002,Resolved,Minor,Fixed,02/Oct/21 11:00,04/Oct/21 09:00,3.1
,3003,Open,Major,,03/Oct/21 12:00,,3.1
Export ignores the time zone,3004,Open,Major,,32/Oct/21 12:00,,3.1
"""


def _upload(page, csv_path: Path, *, dry_run: bool) -> None:
    page.select_option("#id_project", "PAY")
    page.set_input_files("#id_file", str(csv_path))
    if dry_run:
        page.check("#id_dry_run")
    else:
        page.uncheck("#id_dry_run")
    page.click("#import-submit")


def test_jira_import_dry_run_then_import(login, project, tmp_path, manager):
    csv_path = tmp_path / "jira.csv"
    csv_path.write_text(CSV, encoding="utf-8")
    page = login(manager)
    page.goto("/defects/")
    page.get_by_role("link", name="Import Jira CSV").click()
    page.wait_for_url("**/defects/import/")

    # dry run: the report counts what would happen, lists the bad rows, and nothing is written
    _upload(page, csv_path, dry_run=True)
    report = page.locator("#import-report")
    expect(report).to_contain_text("Dry run — nothing was written")
    expect(page.locator("#created-count")).to_have_text("2")
    skipped = page.locator("#skipped-rows tbody tr")
    expect(skipped).to_have_count(2)
    expect(page.locator("#skipped-rows")).to_contain_text("3003")
    expect(page.locator("#to-board")).to_have_count(0)
    page.screenshot(path=SHOTS / "h5-import-dry-run.png", full_page=True)
    assert Defect.objects.count() == 0 and not Release.objects.filter(version="3.1").exists()

    # the real import writes the two good rows and the release
    _upload(page, csv_path, dry_run=False)
    expect(report).to_contain_text("Import finished")
    expect(page.locator("#created-count")).to_have_text("2")
    assert set(Defect.objects.values_list("external_id", flat=True)) == {"3001", "3002"}
    assert Release.objects.filter(project=project, version="3.1").exists()
    page.screenshot(path=SHOTS / "h5-import-done.png", full_page=True)

    # importing the same file again creates nothing new
    _upload(page, csv_path, dry_run=False)
    expect(report).to_contain_text("Import finished")
    expect(page.locator("#created-count")).to_have_text("0")
    assert Defect.objects.count() == 2

    # the report links to the project's board, which shows the imported defects
    page.click("#to-board")
    page.wait_for_url("**/defects/?project=PAY")
    rows = page.locator("#defect-table tbody tr[data-key]")
    expect(rows).to_have_count(2)
    expect(page.locator("#defect-table")).to_contain_text("Refund fails with gateway timeout")
    assert page.js_errors == []


def test_defect_page_edit_form_changes_fields(login, make_member, project, qa):
    from defects.services import defect_create

    dev = make_member("qa", username="dev")
    defect = defect_create(project=project, title="Refund fails with gateway timeout", by=qa)
    page = login(qa)
    page.goto(f"/defects/{defect.key}/")
    page.select_option("#edit-form select[name=severity]", "critical")
    page.select_option("#edit-form select[name=priority]", "highest")
    page.select_option("#edit-form select[name=assignee]", str(dev.pk))
    page.fill("#edit-form input[name=component]", "payments")
    page.click("#edit-form button[type=submit]")
    expect(page.locator("#assignee")).to_have_text("dev")
    expect(page.locator("#fields")).to_contain_text("Critical")
    expect(page.locator("#fields")).to_contain_text("Highest")
    expect(page.locator("#timeline")).to_contain_text("Changed assignee")
    defect.refresh_from_db()
    assert (defect.severity, defect.priority, defect.assignee, defect.component) == (
        "critical",
        "highest",
        dev,
        "payments",
    )
    assert set(DefectFieldChange.objects.filter(defect=defect).values_list("field", flat=True)) == {
        "severity",
        "priority",
        "assignee",
        "component",
    }
    page.screenshot(path=SHOTS / "h5-defect-edit.png", full_page=True)
    assert page.js_errors == []
