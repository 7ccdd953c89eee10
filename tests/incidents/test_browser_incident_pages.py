"""Incident pages in a real browser: choose the project, record, edit (restore time, severity, defects), and work
the action items through their states."""

import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from incidents.models import ActionItem, Incident
from releases.models import Role
from tests import factories as f

SHOTS = Path(tempfile.gettempdir())
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_edit_and_close_action_item(login, make_member, project, release, manager):
    other = f.ProjectFactory(key="OPS", name="Operations")
    f.MembershipFactory(project=other, user=manager, role=Role.MANAGER)
    owner = make_member(Role.QA, username="oncall")
    defect = f.DefectFactory(project=project, title="Ledger write times out")
    page = login(manager)

    # someone managing two projects is asked which one first
    page.goto("/incidents/")
    page.get_by_role("link", name="New incident").click()
    page.wait_for_url("**/incidents/new/")
    page.select_option("select[name=project]", "PAY")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/incidents/new/?project=PAY")
    page.fill("#id_title", "Ledger error rate")
    page.select_option("#id_severity", "sev3")
    page.select_option("#id_release", str(release.pk))
    page.fill("#id_started_at", "2026-01-05T10:00")
    page.select_option("#id_defects", str(defect.pk))
    page.click("#incident-form button[type=submit]")
    incident = Incident.objects.get()
    page.wait_for_url(f"**/incidents/{incident.pk}/")
    expect(page.locator(".messages")).to_contain_text(f"Incident INC-{incident.pk} recorded.")
    expect(page.locator("#incident-state")).to_have_text("open")
    expect(page.locator("main")).to_contain_text(defect.key)

    # edit: it was worse than first thought and was restored at 12:30
    page.get_by_role("link", name="Edit", exact=True).click()
    page.wait_for_url(f"**/incidents/{incident.pk}/edit/")
    page.select_option("#id_severity", "sev1")
    page.fill("#id_restored_at", "2026-01-05T12:30")
    page.click("#incident-form button[type=submit]")
    page.wait_for_url(f"**/incidents/{incident.pk}/")
    expect(page.locator(".messages")).to_contain_text("Incident updated.")
    expect(page.locator("#incident-state")).to_have_text("restored")
    expect(page.locator("main")).to_contain_text("time to restore 2")
    incident.refresh_from_db()
    assert incident.severity == "sev1" and incident.restored_at.strftime("%H:%M") == "12:30"
    assert list(incident.defects.all()) == [defect]

    # an action item with an owner and a due date, then moved to done
    page.fill("#action-item-form #id_title", "Alert on ledger latency")
    page.select_option("#action-item-form #id_owner", str(owner.pk))
    page.fill("#action-item-form #id_due_date", "2026-02-01")
    page.click("#action-item-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Action item added.")
    item = ActionItem.objects.get()
    row = page.locator(f"#action-items tr[data-item='{item.pk}']")
    expect(row).to_contain_text("oncall")
    row.locator("select[name=status]").select_option("done")
    row.get_by_role("button", name="Set").click()
    expect(page.locator(".messages")).to_contain_text("Action item updated.")
    expect(page.locator(f"#action-items tr[data-item='{item.pk}'] select[name=status]")).to_have_value("done")
    item.refresh_from_db()
    assert item.status == "done" and item.completed_at is not None and item.owner == owner
    page.screenshot(path=SHOTS / "h5-incident-detail.png", full_page=True)
    assert page.js_errors == []
