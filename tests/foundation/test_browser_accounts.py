"""Signing in and out, the home page, and the API token page, in a real browser."""

import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from ..conftest import PASSWORD
from ..factories import ProjectFactory, ReleaseFactory

SHOTS = Path(tempfile.gettempdir())
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_home_and_logout(page, project, release, qa):
    ReleaseFactory(project=ProjectFactory(key="OPS", name="Operations"), version="9.9.9")
    user = qa
    # an anonymous visit to a page lands on the login form, remembering where it was going
    page.goto("/releases/")
    page.wait_for_url("**/accounts/login/?next=/releases/")
    page.screenshot(path=SHOTS / "h5-login.png", full_page=True)
    # a wrong password is refused with a message, and the user stays signed out
    page.fill("#id_username", user.username)
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
    assert "/accounts/login/" in page.url
    # the right password signs in and goes on to the page asked for
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/releases/")
    expect(page.locator(".userbox")).to_contain_text(user.username)
    # home lists the user's projects with their releases, and nothing of projects they are not in
    page.click(".topbar a.brand")
    page.wait_for_url(lambda url: url.endswith("/"))
    card = page.locator("[data-project=PAY]")
    expect(card).to_contain_text(release.version)
    expect(page.locator("[data-project=OPS]")).to_have_count(0)
    assert "9.9.9" not in page.inner_text("main")
    page.screenshot(path=SHOTS / "h5-home.png", full_page=True)
    # the project card opens the project page
    card.get_by_role("link", name="PAY · Payments").click()
    page.wait_for_url("**/projects/PAY/")
    # log out: back on the login form, and pages ask for a login again
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/")
    expect(page.locator(".userbox")).to_have_count(0)
    page.goto("/")
    page.wait_for_url("**/accounts/login/?next=/")
    assert page.js_errors == []


def _me_status(key: str) -> int:
    """/api/v1/me/ called with the token only (no browser session)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/me/").status_code


def test_api_token_page_regenerates_and_revokes(login, project, qa):
    user = qa
    page = login(user)
    page.click("#api-token-link")
    page.wait_for_url("**/accounts/token/")
    expect(page.locator("#no-token")).to_be_visible()
    # create a token: it is shown, and the API accepts it
    page.click("#regenerate-token")
    first = page.locator("#token-value").input_value()
    assert first == Token.objects.get(user=user).key
    assert _me_status(first) == 200
    page.screenshot(path=SHOTS / "h5-api-token.png", full_page=True)
    # regenerate: a new key on the page, the old one refused
    page.click("#regenerate-token")
    expect(page.locator(".messages")).to_contain_text("old one no longer works")
    second = page.locator("#token-value").input_value()
    assert second != first and second == Token.objects.get(user=user).key
    assert _me_status(first) == 401 and _me_status(second) == 200
    # delete it: no token left, and the key is refused
    page.click("#revoke-token")
    expect(page.locator("#no-token")).to_be_visible()
    assert not Token.objects.filter(user=user).exists()
    assert _me_status(second) == 401
    assert page.js_errors == []
