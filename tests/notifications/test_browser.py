"""Browser: the bell shows the unread count (at 390 px too), the list opens, marks read one and all; opening a
notification follows its link; preferences switch a channel off."""

import pytest
from playwright.sync_api import expect

from defects import services as defect_services
from notifications.models import Notification, NotificationPreference
from tests.conftest import PASSWORD
from tests.factories import DefectFactory


@pytest.mark.browser
def test_browser_bell_shows_unread_and_the_list_marks_read(two_users, login, page):
    alice, _ = two_users
    page.set_viewport_size({"width": 390, "height": 844})
    login(alice, PASSWORD)
    page.goto("/notifications/preferences/")
    bell = page.locator("#bell")
    assert bell.locator("#bell-count").inner_text() == "3"
    assert bell.get_attribute("aria-label") == "Notifications: 3 unread"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    bell.click()
    page.wait_for_url("**/notifications/")
    assert page.locator("li.notification.unread").count() == 3
    page.locator("li.notification.unread button", has_text="Mark read").first.click()
    expect(page.locator("li.notification.unread")).to_have_count(2)
    expect(page.locator("#bell-count")).to_have_text("2")
    page.click("#mark-all-read button")
    expect(page.locator("li.notification.unread")).to_have_count(0)
    expect(page.locator("#bell-count")).to_have_count(0)
    assert Notification.objects.filter(user=alice, read_at__isnull=True).count() == 0
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.js_errors == []


@pytest.mark.browser
def test_browser_opening_a_notification_goes_to_the_defect_and_marks_it_read(
    project, qa, manager, login, page
):
    # given a defect the manager assigns to the QA member
    defect = DefectFactory(project=project, title="Refund button does nothing")
    defect_services.defect_update(defect=defect, by=manager, data={"assignee": qa})
    login(qa, PASSWORD)
    page.goto("/notifications/")
    expect(page.locator("#bell-count")).to_have_text("1")
    # when QA opens it from the list
    page.click(f"text={defect.key} assigned to you: Refund button does nothing")
    # then the defect page opens and the bell has nothing left
    page.wait_for_url(f"**/defects/{defect.key}/")
    expect(page.locator("#bell-count")).to_have_count(0)
    assert Notification.objects.get(user=qa).read_at is not None


@pytest.mark.browser
def test_browser_preferences_switch_off_email_for_a_kind(two_users, login, page):
    alice, _ = two_users
    page.set_viewport_size({"width": 390, "height": 844})
    login(alice, PASSWORD)
    page.goto("/notifications/preferences/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.uncheck("input[name=gate_failed__email]")
    page.click("#preferences-form button[type=submit]")
    page.wait_for_url("**/notifications/preferences/")
    page.wait_for_selector(".msg-success")
    assert not page.is_checked("input[name=gate_failed__email]")
    assert page.is_checked("input[name=gate_failed__in_app]")
    assert NotificationPreference.objects.get(user=alice, kind="gate_failed").email is False
