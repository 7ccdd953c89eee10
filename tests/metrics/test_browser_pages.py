"""The release dashboard's "Recompute now" button and deleting an alert rule, in a real browser."""

import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from metrics import services as metric_services
from metrics.models import AlertRule
from tests import factories as f

SHOTS = Path(tempfile.gettempdir())
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_release_dashboard_recompute_button(login, project, release, qa):
    f.DefectFactory(project=project, found_in_release=release, title="Refund fails")
    # the last snapshot was taken with one defect (a dashboard GET never stores one itself)
    metric_services.snapshot_release(release=release)
    metric_services.snapshot_project(project=project)
    page = login(qa)
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


def test_recompute_button_is_hidden_from_a_viewer(login, project, release, viewer):
    page = login(viewer)
    page.goto(f"/releases/{release.pk}/dashboard/")
    page.wait_for_selector("#kpi-tiles")
    expect(page.get_by_role("button", name="Recompute now")).to_have_count(0)
    assert page.js_errors == []


def test_alert_rule_is_deleted_from_its_page(login, project, release, admin):
    keep = AlertRule.objects.create(project=project, metric="open_defects", threshold=50, created_by=admin)
    gone = AlertRule.objects.create(project=project, metric="reopen_rate", threshold=10, created_by=admin)
    page = login(admin)
    page.goto(f"/projects/{project.key}/alerts/")
    expect(page.locator("#rules tr[data-rule]")).to_have_count(2)
    delete = page.locator(f"#rules tr[data-rule='{gone.pk}']").get_by_role("button", name="Delete")
    # the page asks first; Cancel keeps the rule
    questions: list[str] = []
    page.once("dialog", lambda d: (questions.append(d.message), d.dismiss()))
    delete.click()
    expect(page.locator("#rules tr[data-rule]")).to_have_count(2)
    assert questions == ["Delete the alert rule on reopen_rate?"] and AlertRule.objects.count() == 2
    page.once("dialog", lambda d: d.accept())
    delete.click()
    page.wait_for_url(f"**/projects/{project.key}/alerts/")
    expect(page.locator(".messages")).to_contain_text("Alert rule deleted.")
    expect(page.locator("#rules tr[data-rule]")).to_have_count(1)
    expect(page.locator(f"#rules tr[data-rule='{keep.pk}']")).to_be_visible()
    assert list(AlertRule.objects.values_list("pk", flat=True)) == [keep.pk]
    page.screenshot(path=SHOTS / "h5-alert-rules.png", full_page=True)
    assert page.js_errors == []


def test_trend_chart_with_a_single_day_keeps_a_day_scale_axis(login, project, release, viewer):
    # a new release has one day of snapshots (coverage: one point; MTTR: none, no fixed defect): the trend
    # charts must not zoom into milliseconds around that day (or around 1970)
    f.DefectFactory(project=project, found_in_release=release)
    f.in_scope(f.RequirementFactory(project=project, key="REQ-1"), release)
    metric_services.snapshot_release(release=release)  # today's snapshot (a dashboard GET stores none)
    page = login(viewer)
    page.goto(f"/releases/{release.pk}/dashboard/")
    for name in ("coverage", "mttr"):
        page.wait_for_selector(f"#chart-{name} .main-svg")
        ticks = page.locator(f"#chart-{name} .xtick text").all_text_contents()
        assert ticks and not any(":" in tick for tick in ticks), ticks
        span_days = page.evaluate(
            "(id) => { const r = document.getElementById(id).layout.xaxis.range;"
            " return (new Date(r[1]) - new Date(r[0])) / 86400000; }",
            f"chart-{name}",
        )
        assert span_days >= 2
    coverage_points = page.evaluate("() => document.getElementById('chart-coverage').data[0].x.length")
    assert coverage_points == 1
    page.screenshot(path=SHOTS / "h5-release-dashboard-one-day.png", full_page=True)
    assert page.js_errors == []
