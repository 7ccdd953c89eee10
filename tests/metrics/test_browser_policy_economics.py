"""The costs of go/no-go on the policy page, in a real browser: an admin sets them (a new audited version), a
viewer only reads them, and the page fits 390 px."""

import pytest
from playwright.sync_api import expect

from metrics.models import PolicyVersion
from releases.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_sets_the_costs_of_go_no_go_and_a_viewer_reads_them(
    login, make_member, project, browser, live_server
):
    # given an admin on the project's policy page
    admin = make_member(Role.ADMIN)
    page = login(admin)
    page.goto(f"/projects/{project.key}/policy/")
    # when a delay cost of 0 is saved (it divides the break-even delay): refused, the values kept, nothing saved
    page.fill("#id_eco-delay_cost_per_day", "0")
    page.fill("#id_eco-hotfix_cost", "15000")
    page.click("#policy-form button[type=submit]")
    expect(page.locator("body")).to_contain_text("delay_cost_per_day must be above 0")
    expect(page.locator("#id_eco-hotfix_cost")).to_have_value("15000")
    assert not PolicyVersion.objects.filter(project=project).exists()
    # when the costs are saved
    page.fill("#id_eco-delay_cost_per_day", "4000")
    page.fill("#id_eco-incident_cost", "40000")
    page.fill("#id_eco-currency", "EUR")
    page.fill("#id_comment", "Costs from finance")
    page.click("#policy-form button[type=submit]")
    # then a new version holds them, by the admin, and the form shows them back
    expect(page.locator("#policy-version")).to_contain_text("version 1")
    saved = PolicyVersion.objects.get(project=project)
    assert saved.created_by == admin and saved.policy["economics"]["incident_cost"] == 40000
    expect(page.locator("#id_eco-delay_cost_per_day")).to_have_value("4000.0")

    # and a viewer sees the costs, without fields to change them, on a 390 px screen
    viewer = make_member(Role.VIEWER)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 800})
    other = context.new_page()
    other.goto("/accounts/login/")
    other.fill("#id_username", viewer.username)
    other.fill("#id_password", "pass-word-123")
    other.click("button[type=submit]")
    other.wait_for_url(lambda url: "/accounts/login/" not in url)
    other.goto(f"/projects/{project.key}/policy/")
    expect(other.locator("#policy-economics")).to_contain_text("40000")
    assert other.locator("#policy-economics input").count() == 0
    assert other.evaluate(
        "document.querySelector('#policy-economics').getBoundingClientRect().right <= window.innerWidth + 1"
    )
    context.close()
