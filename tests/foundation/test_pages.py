"""Project, release and member pages: wiring, permissions, bad input, query counts, and a real browser."""

import tempfile
from pathlib import Path

import pytest

from releases.models import Membership, Project, Release, Role

from ..factories import DefectFactory, ProjectFactory, ReleaseFactory, TestRunFactory, UserFactory

pytestmark = pytest.mark.django_db

SHOTS = Path(tempfile.gettempdir())


def test_project_page_shows_releases_members_and_links(client, release, viewer):
    client.force_login(viewer)
    response = client.get("/projects/PAY/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "2.4.0" in html and "viewer_pay" in html
    assert "/projects/PAY/dashboard/" in html and "/gates/?project=PAY" in html
    assert "New release" not in html  # viewers cannot create releases


def test_other_projects_pages_are_404(client, project, admin):
    foreign = ReleaseFactory(project=ProjectFactory(key="OPS"), version="1.0.0")
    client.force_login(admin)
    assert client.get("/projects/OPS/").status_code == 404
    assert client.get("/projects/OPS/members/").status_code == 404
    assert client.get(f"/releases/{foreign.pk}/").status_code == 404
    assert client.get(f"/releases/{foreign.pk}/edit/").status_code == 404


def test_release_list_filters_by_project_and_status(client, project, viewer):
    ReleaseFactory(
        project=project, version="1.0.0", status="released", actual_release_date="2026-01-01T00:00Z"
    )
    ReleaseFactory(project=project, version="1.1.0", status="testing")
    client.force_login(viewer)
    html = client.get("/releases/", {"project": "PAY", "status": "testing"}).content.decode()
    assert "1.1.0" in html and "1.0.0" not in html
    html = client.get("/releases/", {"status": "nonsense"}).content.decode()
    assert "1.1.0" in html and "1.0.0" in html


@pytest.mark.parametrize("n", [3, 40])
def test_release_list_query_count_is_bounded(client, project, django_assert_max_num_queries, n, viewer):
    for i in range(n):
        release = ReleaseFactory(project=project, version=f"3.{i}.0")
        DefectFactory(project=project, found_in_release=release)
        TestRunFactory(release=release)
    client.force_login(viewer)
    with django_assert_max_num_queries(10):
        response = client.get("/releases/")
    assert response.status_code == 200


@pytest.mark.parametrize("n", [2, 30])
def test_project_and_release_pages_query_counts_are_bounded(
    client, project, django_assert_max_num_queries, n, admin
):
    releases = [ReleaseFactory(project=project, version=f"4.{i}.0") for i in range(n)]
    for release in releases:
        DefectFactory(project=project, found_in_release=releases[0])
        ReleaseFactory(
            project=project, version=f"{release.version}-hf", change_class="hotfix", hotfix_for=releases[0]
        )
    client.force_login(admin)
    with django_assert_max_num_queries(12):
        assert client.get("/projects/PAY/").status_code == 200
    # The release page's metric card is current by default (issue 14): with no snapshot newer than the evidence
    # it computes the figures fresh, a fixed set of aggregate queries that does not grow with the data.
    with django_assert_max_num_queries(40):
        assert client.get(f"/releases/{releases[0].pk}/").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get("/projects/PAY/members/").status_code == 200


def test_release_detail_shows_counts_links_and_sections(client, release, qa):
    DefectFactory(project=release.project, found_in_release=release)
    DefectFactory(project=release.project, found_in_release=release, found_in_environment="production")
    TestRunFactory(release=release)
    client.force_login(qa)
    response = client.get(f"/releases/{release.pk}/")
    html = response.content.decode()
    assert response.context["counts"] == {"defects": 2, "open_defects": 2, "production_defects": 1, "runs": 1}
    for link in (
        f"/releases/{release.pk}/dashboard/",
        f"/releases/{release.pk}/traceability/",
        f"/defects/?release={release.pk}",
    ):
        assert link in html
    assert "Edit release" not in html


def test_release_create_form_by_manager(client, project, manager):
    client.force_login(manager)
    assert client.get("/projects/PAY/releases/new/").status_code == 200
    response = client.post(
        "/projects/PAY/releases/new/", {"version": "5.0.0", "status": "planning", "change_class": "major"}
    )
    release = Release.objects.get(version="5.0.0")
    assert response.status_code == 302 and response["Location"] == f"/releases/{release.pk}/"


def test_release_create_form_shows_service_errors(client, release, manager):
    client.force_login(manager)
    response = client.post(
        "/projects/PAY/releases/new/", {"version": "2.4.0", "status": "planning", "change_class": "minor"}
    )
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert Release.objects.count() == 1


@pytest.mark.parametrize("role", [Role.VIEWER, Role.QA])
def test_release_forms_refuse_roles_without_manage_releases(client, make_member, release, role):
    client.force_login(make_member(role))
    assert client.get("/projects/PAY/releases/new/").status_code == 403
    assert (
        client.post(
            "/projects/PAY/releases/new/", {"version": "6", "status": "planning", "change_class": "minor"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/releases/{release.pk}/edit/", {"version": "x", "status": "planning", "change_class": "minor"}
        ).status_code
        == 403
    )
    assert Release.objects.get().version == "2.4.0"


def test_release_edit_form(client, release, rm):
    client.force_login(rm)
    assert client.get(f"/releases/{release.pk}/edit/").status_code == 200
    response = client.post(
        f"/releases/{release.pk}/edit/",
        {"version": "2.4.0", "name": "Spring", "status": "ready", "change_class": "minor"},
    )
    assert response.status_code == 302
    release.refresh_from_db()
    assert (release.name, release.status) == ("Spring", "ready")


def test_members_page_add_change_remove(client, project, admin):
    client.force_login(admin)
    UserFactory(username="newbie")
    response = client.post("/projects/PAY/members/", {"op": "add", "username": "newbie", "role": "qa"})
    assert response.status_code == 302
    client.post("/projects/PAY/members/", {"op": "role", "username": "newbie", "role": "manager"})
    assert Membership.objects.get(user__username="newbie").role == "manager"
    client.post("/projects/PAY/members/", {"op": "remove", "username": "newbie"})
    assert not Membership.objects.filter(user__username="newbie").exists()
    response = client.post("/projects/PAY/members/", {"op": "add", "username": "ghost", "role": "qa"})
    assert response.status_code == 400 and "No user named" in response.content.decode()


def test_members_page_refuses_non_admin_writes(client, project, manager):
    client.force_login(manager)
    UserFactory(username="newbie")
    assert client.get("/projects/PAY/members/").status_code == 200
    assert (
        client.post("/projects/PAY/members/", {"op": "add", "username": "newbie", "role": "qa"}).status_code
        == 403
    )
    assert not Membership.objects.filter(user__username="newbie").exists()


def test_project_create_page(client):
    outsider = UserFactory(username="outsider")
    client.force_login(outsider)
    assert client.get("/projects/new/").status_code == 403
    assert client.post("/projects/new/", {"key": "NEW", "name": "New"}).status_code == 403
    assert not Project.objects.exists()
    user = UserFactory(username="founder", is_staff=True)
    client.force_login(user)
    response = client.post("/projects/new/", {"key": "NEW", "name": "New"})
    assert response.status_code == 302 and response["Location"] == "/projects/NEW/"
    assert Membership.objects.get(user=user).role == Role.ADMIN
    response = client.post("/projects/new/", {"key": "NEW", "name": "Again"})
    assert response.status_code == 400 and "already exists" in response.content.decode()


def test_pages_need_login(client, release):
    for url in ("/projects/PAY/", "/releases/", f"/releases/{release.pk}/", "/projects/PAY/members/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_untrusted_text_is_escaped(client, project, viewer):
    ReleaseFactory(project=project, version="7.0.0", name="<script>alert(1)</script>")
    client.force_login(viewer)
    html = client.get("/releases/").content.decode() + client.get("/projects/PAY/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


# --- browser ---------------------------------------------------------------------------------------------


@pytest.mark.browser
def test_browser_release_manager_creates_and_edits_a_release(login, project, rm):
    page = login(rm)
    page.goto("/projects/PAY/")
    page.click("text=New release")
    page.fill("#id_version", "3.1.0")
    page.fill("#id_name", "Autumn")
    page.select_option("#id_status", "testing")
    page.click("#release-form button[type=submit]")
    page.wait_for_url("**/releases/*/")
    assert page.locator("h1").inner_text().startswith("PAY 3.1.0")
    page.screenshot(path=SHOTS / "release_detail.png", full_page=True)
    page.click("text=Edit release")
    page.select_option("#id_status", "ready")
    page.click("#release-form button[type=submit]")
    page.wait_for_url("**/releases/*/")
    assert "Ready" in page.locator("#release-fields").inner_text()
    page.goto("/releases/?project=PAY")
    assert page.locator("#releases").get_by_text("3.1.0").is_visible()
    page.screenshot(path=SHOTS / "release_list.png", full_page=True)
    page.goto("/projects/PAY/")
    page.screenshot(path=SHOTS / "project_detail.png", full_page=True)
    assert not page.js_errors


@pytest.mark.browser
def test_browser_admin_manages_members(login, project, admin):
    UserFactory(username="newbie")
    page = login(admin)
    page.goto("/projects/PAY/members/")
    page.fill("#id_username", "newbie")
    page.select_option("#id_role", "qa")
    page.click("#member-add button[type=submit]")
    row = page.locator("tr[data-member=newbie]")
    assert row.is_visible()
    row.locator("select").select_option("manager")
    row.locator("form.member-role button").click()
    page.wait_for_load_state()
    assert Membership.objects.get(user__username="newbie").role == "manager"
    page.screenshot(path=SHOTS / "project_members.png", full_page=True)
    page.on("dialog", lambda d: d.accept())  # "Remove ... from PAY?"
    page.locator("tr[data-member=newbie] form.member-remove button").click()
    page.wait_for_load_state()
    assert page.locator("tr[data-member=newbie]").count() == 0
    assert not page.js_errors


@pytest.mark.browser
def test_browser_new_project_then_filter_releases(login, project, viewer):
    ReleaseFactory(project=project, version="1.0.0", status="testing")
    ReleaseFactory(project=project, version="0.9.0", status="planning")
    viewer.is_staff = True  # project creation is staff-only by default
    viewer.save(update_fields=["is_staff"])
    page = login(viewer)
    # a (staff) viewer of PAY starts their own project and lands on it as its admin
    page.goto("/projects/new/")
    page.fill("#id_key", "MOB")
    page.fill("#id_name", "Mobile app")
    page.click("#project-form button[type=submit]")
    page.wait_for_url("**/projects/MOB/")
    assert page.locator("text=New release").is_visible()
    # the release list filters by project and status through its form
    page.goto("/releases/")
    page.select_option("#f-project", "PAY")
    page.select_option("#f-status", "testing")
    page.click("#release-filters button[type=submit]")
    page.wait_for_url("**/releases/?project=PAY&status=testing")
    rows = page.locator("#releases tbody tr")
    assert rows.count() == 1 and "1.0.0" in rows.first.inner_text()
    page.screenshot(path=SHOTS / "release_list_filtered.png", full_page=True)
    assert not page.js_errors
