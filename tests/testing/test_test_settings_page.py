"""The project's test settings page: admins choose what a regression does (reopen or only flag)."""

import re

import pytest
from playwright.sync_api import expect

from testing import models as tm
from testing.regressions import regression_policy
from tests.factories import ProjectFactory

URL = "/projects/PAY/test-settings/"


def _checked(content: bytes) -> str:
    """The value of the checked radio button of the page."""
    (value,) = re.findall(rb'<input type="radio"[^>]*value="(\w+)"[^>]*checked', content)
    return value.decode()


def test_admins_change_the_regression_policy(client, project, admin, django_assert_max_num_queries):
    client.force_login(admin)
    with django_assert_max_num_queries(12):
        page = client.get(URL)
    assert page.status_code == 200
    assert _checked(page.content) == "reopen"  # the default
    with django_assert_max_num_queries(16):
        response = client.post(URL, {"on_regression": "flag"})
    assert response.status_code == 302 and response["Location"] == URL
    assert regression_policy(project.pk) == "flag"
    assert b"Only flag it as regressed" in client.get(URL).content


def test_a_bad_choice_is_refused_with_a_message_and_changes_nothing(client, project, admin):
    client.force_login(admin)
    client.post(URL, {"on_regression": "flag"})
    response = client.post(URL, {"on_regression": "delete-everything"})
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content
    assert regression_policy(project.pk) == "flag"


@pytest.mark.parametrize("role", ["viewer", "qa", "manager", "rm"])
def test_other_roles_get_403_and_change_nothing(client, project, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"on_regression": "flag"}).status_code == 403
    assert not tm.ProjectTestSettings.objects.exists()


def test_outside_the_project_404_and_anonymous_to_login(client, project, make_member):
    client.force_login(make_member("admin", project_=ProjectFactory(key="OTHER"), username="other_admin"))
    assert client.get(URL).status_code == 404
    client.logout()
    assert client.get(URL).status_code == 302


def test_the_api_and_the_page_share_the_setting(api_client_for, client, project, admin):
    api = api_client_for(admin)
    assert (
        api.put("/api/v1/projects/PAY/test-settings/", {"on_regression": "flag"}, format="json").status_code
        == 200
    )
    client.force_login(admin)
    assert _checked(client.get(URL).content) == "flag"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_admin_switches_to_flag_only_from_the_project_page_at_phone_width(login, page, project, admin):
    page.set_viewport_size({"width": 390, "height": 844})
    login(admin)
    page.goto("/projects/PAY/")
    page.get_by_role("link", name="Test settings").click()
    page.wait_for_url("**/projects/PAY/test-settings/")
    form = page.locator("#test-settings-form")
    expect(form.get_by_label("Reopen the defect")).to_be_checked()
    form.get_by_label("Only flag it as regressed").check()
    button = form.get_by_role("button", name="Save")
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    button.click()
    expect(page.locator("body")).to_contain_text(
        "Saved: when a linked test fails again, only flag it as regressed."
    )
    expect(page.locator("#test-settings-form").get_by_label("Only flag it as regressed")).to_be_checked()
    assert regression_policy(project.pk) == "flag"
    assert not page.js_errors
