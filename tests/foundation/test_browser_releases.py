"""Project, release and member pages in a real browser: each page's main job, checked on screen and in the DB."""

import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from releases.models import Membership, Release, Role

from ..factories import ReleaseFactory, UserFactory

SHOTS = Path(tempfile.gettempdir())
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_release_create_and_edit_from_project(login, project, release, manager):
    page = login(manager)
    page.goto(f"/projects/{project.key}/")
    expect(page.locator("main")).to_contain_text(release.version)
    page.get_by_role("link", name="New release").click()
    page.wait_for_url(f"**/projects/{project.key}/releases/new/")
    # a version that already exists is refused on the form, nothing written
    page.fill("#id_version", release.version)
    page.click("#release-form button[type=submit]")
    expect(page.locator("#release-form [role=alert]")).to_contain_text("already exists")
    assert Release.objects.count() == 1
    # a hotfix of the existing release
    page.fill("#id_version", "2.4.1")
    page.fill("#id_name", "Refund hotfix")
    page.select_option("#id_status", "planning")
    page.select_option("#id_change_class", "hotfix")
    page.select_option("#id_hotfix_for", str(release.pk))
    page.screenshot(path=SHOTS / "h5-release-create.png", full_page=True)
    page.click("#release-form button[type=submit]")
    hotfix = Release.objects.get(version="2.4.1")
    page.wait_for_url(f"**/releases/{hotfix.pk}/")
    expect(page.locator("h1")).to_contain_text("PAY 2.4.1")
    assert hotfix.hotfix_for == release and hotfix.change_class == "hotfix"
    # edit it: move it on to testing (the lifecycle's next step; no gate guards it in this project) with a
    # planned date; the release page shows the new values
    page.get_by_role("link", name="Edit release").click()
    page.wait_for_url(f"**/releases/{hotfix.pk}/edit/")
    page.select_option("#id_status", "testing")
    page.fill("#id_planned_release_date", "2026-12-15")
    page.click("#release-form button[type=submit]")
    page.wait_for_url(f"**/releases/{hotfix.pk}/")
    fields = page.locator("#release-fields")
    expect(fields).to_contain_text("Testing")
    expect(fields).to_contain_text("2026")
    hotfix.refresh_from_db()
    assert hotfix.status == "testing" and str(hotfix.planned_release_date) == "2026-12-15"
    page.screenshot(path=SHOTS / "h5-release-detail.png", full_page=True)
    # the project page lists the new release
    page.goto(f"/projects/{project.key}/")
    expect(page.locator("main")).to_contain_text("2.4.1")
    page.screenshot(path=SHOTS / "h5-project-detail.png", full_page=True)
    assert page.js_errors == []


def test_members_add_change_role_remove(login, project, admin):
    UserFactory(username="newbie")
    page = login(admin)
    page.goto(f"/projects/{project.key}/")
    page.get_by_role("link", name="Members").first.click()
    page.wait_for_url(f"**/projects/{project.key}/members/")
    # an unknown user is refused on the form
    page.fill("#id_username", "ghost")
    page.click("#member-add button[type=submit]")
    expect(page.locator("#member-add")).to_contain_text("No user named")
    # add newbie as QA
    page.fill("#id_username", "newbie")
    page.select_option("#id_role", "qa")
    page.click("#member-add button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("newbie joined PAY as QA")
    row = page.locator("tr[data-member=newbie]")
    expect(row.locator("select")).to_have_value("qa")
    # promote to manager
    row.locator("select").select_option("manager")
    row.locator("form.member-role button").click()
    expect(page.locator(".messages")).to_contain_text("newbie is now Manager")
    expect(page.locator("tr[data-member=newbie] select")).to_have_value("manager")
    assert Membership.objects.get(user__username="newbie").role == Role.MANAGER
    page.screenshot(path=SHOTS / "h5-members.png", full_page=True)
    # the last admin cannot leave: the page says why and the membership stays
    page.on("dialog", lambda d: d.accept())  # "Remove ... from PAY?"
    page.locator(f"tr[data-member={admin.username}] form.member-remove button").click()
    expect(page.locator(".messages")).to_contain_text("needs at least one admin")
    assert Membership.objects.filter(user=admin, role=Role.ADMIN).exists()
    # remove newbie
    page.locator("tr[data-member=newbie] form.member-remove button").click()
    expect(page.locator(".messages")).to_contain_text("newbie was removed from PAY")
    expect(page.locator("tr[data-member=newbie]")).to_have_count(0)
    assert not Membership.objects.filter(user__username="newbie").exists()
    assert page.js_errors == []


def test_members_page_is_read_only_for_a_viewer(login, project, viewer):
    ReleaseFactory(project=project, version="1.0.0")
    page = login(viewer)
    page.goto(f"/projects/{project.key}/members/")
    expect(page.locator("main")).to_contain_text("Only project admins change members and roles.")
    expect(page.locator("#member-add")).to_have_count(0)
    expect(page.locator("#members select")).to_have_count(0)
    assert page.js_errors == []
