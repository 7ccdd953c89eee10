import pytest

pytestmark = pytest.mark.django_db


def test_home_lists_member_projects_only(client, project, qa):
    # given a QA member of PAY and another project they are not in
    from .factories import ProjectFactory

    ProjectFactory(key="OPS", name="Operations")
    user = qa
    client.force_login(user)
    # when
    response = client.get("/")
    # then
    assert response.status_code == 200
    assert b"PAY" in response.content
    assert b"OPS" not in response.content


def test_pages_need_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.browser
def test_browser_login_and_home(login, release, viewer):
    page = login(viewer)
    page.goto("/")
    assert page.locator("[data-project=PAY]").is_visible()
    assert page.locator("text=2.4.0").is_visible()
    assert not page.js_errors
