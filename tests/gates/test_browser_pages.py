"""A new gate made in the editor, and the audit log's CSV export downloaded from its page, in a real browser."""

import csv
import io
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from gates.models import AuditEvent, QualityGate
from releases.models import Role

SHOTS = Path(tempfile.gettempdir())
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_creates_a_gate_from_the_index(login, project, release, admin):
    page = login(admin)
    page.goto(f"/gates/?project={project.key}")
    page.locator(f"#project-{project.key}").get_by_role("link", name="New gate").click()
    page.wait_for_url(f"**/projects/{project.key}/gates/new/")
    # a gate without a name is not sent: the browser flags the required field, nothing is written
    page.click("#gate-form button[type=submit]")
    expect(page.locator("#gate-form input[name=name]:invalid")).to_have_count(1)
    assert page.url.endswith(f"/projects/{project.key}/gates/new/")
    assert not QualityGate.objects.exists()
    # a gate with one condition and one checklist item
    page.fill("#gate-form input[name=name]", "Staging exit")
    first = page.locator("tr.condition-form").first
    first.locator("select[name$=metric]").select_option("test_pass_rate")
    first.locator("select[name$=operator]").select_option("gte")
    first.locator("input[name$=error_threshold]").fill("95")
    first.locator("input[name$=warn_threshold]").fill("98")
    first.locator("input[name$=-key]").check()
    item = page.locator("tr.item-form").first
    item.locator("input[name$=text]").fill("Load test signed off")
    item.locator("select[name$=role]").select_option(Role.QA)
    page.screenshot(path=SHOTS / "h5-gate-new.png", full_page=True)
    page.click("#gate-form button[type=submit]")
    gate = QualityGate.objects.get()
    page.wait_for_url(f"**/gates/#gate-{gate.pk}")
    expect(page.locator(".messages")).to_contain_text("Gate 'Staging exit' created.")
    card = page.locator(f"#gate-{gate.pk}")
    expect(card).to_contain_text("test_pass_rate")
    expect(card).to_contain_text("Load test signed off")
    condition = gate.conditions.get()
    assert (condition.metric, condition.operator, float(condition.error_threshold), condition.key) == (
        "test_pass_rate",
        "gte",
        95.0,
        True,
    )
    assert gate.checklist_items.get().role == Role.QA
    assert page.js_errors == []


def test_audit_log_csv_export_is_a_download_of_the_filtered_events(login, project, release, admin):
    for name in ("Alpha gate", "Beta gate"):
        AuditEvent.objects.create(
            project=project, action="gate.created", actor=admin, summary=f"Gate '{name}'"
        )
    AuditEvent.objects.create(
        project=project, action="signoff.signed", actor=admin, summary="=SUM(A1) signed"
    )
    page = login(admin)
    page.goto(f"/projects/{project.key}/audit/")
    expect(page.locator("#audit-table tbody tr")).to_have_count(3)
    page.select_option("#f-action", "signoff.")
    page.click("#audit-filters button[type=submit]")
    expect(page.locator("#audit-table tbody tr")).to_have_count(1)
    page.screenshot(path=SHOTS / "h5-audit.png", full_page=True)
    with page.expect_download() as download:
        page.click("#csv-link")
    assert download.value.suggested_filename == f"audit-{project.key}.csv"
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    body = [r for r in rows[1:] if r]
    # the export follows the filter on screen, and a formula-looking summary is neutralised
    assert rows[0] == ["at (UTC)", "action", "actor", "release", "summary"]
    assert [r[1:] for r in body] == [["signoff.signed", admin.username, "", "'=SUM(A1) signed"]]
    assert page.js_errors == []
