"""The release dashboard's "Recompute now" button and deleting an alert rule, in a real browser."""

import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from metrics.models import AlertRule
from releases.models import Role
from tests import factories as f

SHOTS = Path(tempfile.gettempdir())
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_release_dashboard_recompute_button(login, make_member, project, release):
    f.DefectFactory(project=project, found_in_release=release, title="Refund fails")
    page = login(make_member(Role.QA))
    page.goto(f"/releases/{release.pk}/dashboard/")
    open_tile = page.locator("#kpi-tiles .tile[data-metric=open_defects] .value")
    expect(open_tile).to_contain_text("1")
    # new evidence written behind the dashboard's back (no recompute scheduled): the tiles still show
    # the last snapshot until someone presses the button
    f.DefectFactory(project=project, found_in_release=release, title="Receipt wrong")
    f.DefectFactory(project=project, found_in_release=release, title="Export slow")
    page.reload()
    expect(open_tile).to_contain_text("1")
    page.get_by_role("button", name="Recompute now").click()
    page.wait_for_url(f"**/releases/{release.pk}/dashboard/")
    expect(page.locator(".messages")).to_contain_text("Metrics recomputed.")
    expect(open_tile).to_contain_text("3")
    assert page.js_errors == []


def test_recompute_button_is_hidden_from_a_viewer(login, make_member, project, release):
    page = login(make_member(Role.VIEWER))
    page.goto(f"/releases/{release.pk}/dashboard/")
    page.wait_for_selector("#kpi-tiles")
    expect(page.get_by_role("button", name="Recompute now")).to_have_count(0)
    assert page.js_errors == []


def test_alert_rule_is_deleted_from_its_page(login, make_member, project, release):
    admin = make_member(Role.ADMIN)
    keep = AlertRule.objects.create(project=project, metric="open_defects", threshold=50, created_by=admin)
    gone = AlertRule.objects.create(project=project, metric="reopen_rate", threshold=10, created_by=admin)
    page = login(admin)
    page.goto(f"/projects/{project.key}/alerts/")
    expect(page.locator("#rules tr[data-rule]")).to_have_count(2)
    page.locator(f"#rules tr[data-rule='{gone.pk}']").get_by_role("button", name="Delete").click()
    page.wait_for_url(f"**/projects/{project.key}/alerts/")
    expect(page.locator(".messages")).to_contain_text("Alert rule deleted.")
    expect(page.locator("#rules tr[data-rule]")).to_have_count(1)
    expect(page.locator(f"#rules tr[data-rule='{keep.pk}']")).to_be_visible()
    assert list(AlertRule.objects.values_list("pk", flat=True)) == [keep.pk]
    page.screenshot(path=SHOTS / "h5-alert-rules.png", full_page=True)
    assert page.js_errors == []
