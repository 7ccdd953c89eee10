"""The three dashboards in a real browser: charts drawn, no JS errors, click-through works. Screenshots in /tmp."""

import tempfile
from pathlib import Path

import pytest

from .demo import build_demo

SHOTS = Path(tempfile.gettempdir())  # screenshots land in /tmp: look at them after a run
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_release_dashboard_draws_every_chart_and_opens_the_list_behind_a_bar(login, project, release, qa):
    build_demo(project, release)
    page = login(qa)
    page.goto(f"/releases/{release.pk}/dashboard/")
    for name in ("flow", "severity", "runs", "coverage", "mttr"):
        page.wait_for_selector(f"#chart-{name} .main-svg")
    assert page.locator("#risk-indicators tbody tr").count() == 6
    assert page.locator("#kpi-tiles .tile").count() == 11
    page.screenshot(path=SHOTS / "release_dashboard.png", full_page=True)
    assert page.js_errors == []
    # when a severity area point is clicked, the filtered open defects list opens
    page.evaluate(
        "() => { const el = document.getElementById('chart-severity');"
        " el.emit('plotly_click', {points: [{customdata: el.data[0].customdata[0]}]}); }"
    )
    page.wait_for_url(lambda url: "/defects/" in url and "severity=blocker" in url and "status=open" in url)


def test_project_dashboard_shows_trends_releases_and_overdue_items(login, project, release, manager):
    build_demo(project, release)
    page = login(manager)
    page.goto(f"/projects/{project.key}/dashboard/")
    for name in ("stability", "cfr", "mttr", "flow"):
        page.wait_for_selector(f"#chart-{name} .main-svg")
    assert page.locator("#releases tbody tr").count() == 4
    page.screenshot(path=SHOTS / "project_dashboard.png", full_page=True)
    assert page.js_errors == []


def test_portfolio_lists_active_releases_by_risk_and_links_to_dashboards(login, project, release, viewer):
    build_demo(project, release)
    page = login(viewer)
    page.goto("/dashboards/")
    page.wait_for_selector("#chart-risk .main-svg")
    page.screenshot(path=SHOTS / "portfolio.png", full_page=True)
    page.click(f"#portfolio tr[data-release='{release.pk}'] td:nth-child(2) a")
    page.wait_for_url(f"**/releases/{release.pk}/dashboard/")
    assert page.js_errors == []


def test_alert_rules_page_adds_a_rule_and_a_webhook(login, project, release, admin):
    page = login(admin)
    page.goto(f"/projects/{project.key}/alerts/")
    page.fill("#webhook-form #id_name", "ops channel")
    page.fill("#webhook-form #id_url", "https://hooks.example.com/qualitygov")
    page.fill("#webhook-form #id_secret", "a-long-shared-secret-123")
    page.click("#webhook-form button[type=submit]")
    page.wait_for_selector("text=Webhook added.")
    page.select_option("#rule-form #id_metric", "blocking_open_defects")
    page.select_option("#rule-form #id_direction", "above")
    page.fill("#rule-form #id_threshold", "2")
    page.check("#rule-form input[name=webhooks]")
    page.click("#rule-form button[type=submit]")
    page.wait_for_selector("#rules tr[data-rule]")
    assert "ops channel" in page.inner_text("#rules")
    page.screenshot(path=SHOTS / "alert_rules.png", full_page=True)
    assert page.js_errors == []
