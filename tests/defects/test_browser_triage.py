"""The triage traps of issue 16 in a real browser: the bulk bar changes only what is chosen, several fields in
one Apply by keyboard, the selection kept, the summary naming the values, created/quick-view filters that keep
the picked project, and the keyboard help as an overlay above a full page of rows."""

import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from defects.models import Defect
from defects.services import defect_create
from tests.factories import MembershipFactory, ProjectFactory

SHOTS = Path(tempfile.gettempdir())

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_bulk_bar_changes_only_what_is_chosen_and_keeps_the_selection(login, make_member, project, manager):
    dev = make_member("qa", username="dev")
    make_member("qa", username="ann")
    a = defect_create(project=project, title="Checkout crash on empty cart", by=manager, assignee=dev)
    b = defect_create(project=project, title="Refund slow", by=manager, assignee=dev)
    page = login(manager)
    page.goto("/defects/")

    # the trap: a ticked row and Apply with the bar untouched cannot unassign it or make it a blocker
    page.check(f"tr[data-key='{a.key}'] input[name=ids]")
    expect(page.locator("#bulk-assignee")).to_have_value("")
    expect(page.locator("#bulk-severity")).to_have_value("")
    expect(page.locator("#bulk-priority")).to_have_value("")
    expect(page.locator("#bulk-apply")).to_be_disabled()
    expect(page.locator("#bulk-preview")).to_contain_text("Choose a change")
    a.refresh_from_db()
    assert a.assignee == dev and a.severity == "major"

    # several fields in one Apply, chosen with the keyboard shortcuts, applied with Ctrl+Enter
    page.check(f"tr[data-key='{b.key}'] input[name=ids]")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("s")
    expect(page.locator("#bulk-severity")).to_be_focused()
    page.select_option("#bulk-severity", "critical")
    page.keyboard.press("Escape")
    page.keyboard.press("p")
    expect(page.locator("#bulk-priority")).to_be_focused()
    page.select_option("#bulk-priority", "high")
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    page.select_option("#bulk-assignee", "ann")
    page.keyboard.press("Escape")
    page.keyboard.press("m")
    page.select_option("#bulk-to", "triaged")
    expect(page.locator("#bulk-preview")).to_contain_text("Apply to 2:")
    page.keyboard.press("Control+Enter")

    # the summary names the values set; both rows are still selected; the bar is back at "no change"
    summary = page.locator("#bulk-summary")
    expect(summary).to_contain_text("assignee → ann, severity → Critical, priority → High, status → Triaged")
    expect(page.locator("#bulk-report")).to_contain_text("2 changed")
    expect(page.locator("#selected-count")).to_have_text("2")
    expect(page.locator(f"tr[data-key='{a.key}'] input[name=ids]")).to_be_checked()
    expect(page.locator("#bulk-severity")).to_have_value("")
    expect(page.locator("#bulk-apply")).to_be_disabled()
    page.screenshot(path=SHOTS / "defects_bulk_summary.png", full_page=True)
    for d in (a, b):
        d.refresh_from_db()
        assert (d.assignee.username, d.severity, d.priority, d.status) == (
            "ann",
            "critical",
            "high",
            "triaged",
        )

    # a second change on the kept selection: only the priority moves, nothing else
    page.select_option("#bulk-priority", "low")
    page.click("#bulk-apply")
    expect(page.locator("#bulk-summary")).to_contain_text("priority → Low")
    a.refresh_from_db()
    assert (a.assignee.username, a.severity, a.priority) == ("ann", "critical", "low")
    assert page.js_errors == []


def test_created_filter_and_quick_views_keep_the_picked_project(login, project, manager):
    other = ProjectFactory(key="OPS", name="Operations")
    MembershipFactory(project=other, user=manager, role="manager")
    defect_create(project=project, title="PAY blocker", by=manager, severity="blocker")
    defect_create(project=other, title="OPS blocker", by=manager, severity="blocker")
    page = login(manager)
    page.goto("/defects/?project=PAY")
    page.click("#quick-open-blockers")
    rows = page.locator("#defect-table tbody tr[data-key]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("PAY blocker")
    assert "project=PAY" in page.url
    page.click("#quick-today")
    expect(rows).to_have_count(1)
    assert "project=PAY" in page.url and "severity=blocker" in page.url and "created=today" in page.url
    page.select_option("#f-project", "")
    page.select_option("#f-created", "today")
    page.click("#board-filters button[type=submit]")
    expect(rows).to_have_count(2)
    assert page.js_errors == []


def test_keyboard_help_is_an_overlay_above_a_full_page(login, project, qa):
    for i in range(50):
        Defect.objects.create(
            project=project, number=i + 1, key=f"PAY-{i + 1}", title=f"Row {i}", reporter=qa
        )
    page = login(qa)
    page.goto("/defects/")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("?")
    help_box = page.locator("#kbd-help .overlay-box")
    expect(help_box).to_be_visible()
    expect(help_box).to_be_in_viewport()  # not rendered below the 50 rows
    assert page.evaluate("getComputedStyle(document.getElementById('kbd-help')).position") == "fixed"
    expect(page.locator("#kbd-help")).to_contain_text("Ctrl")
    page.screenshot(path=SHOTS / "defects_help_overlay.png")
    page.keyboard.press("Escape")
    expect(help_box).to_be_hidden()
    assert page.js_errors == []


def test_viewer_board_has_no_bulk_new_or_import(login, project, qa, viewer):
    defect_create(project=project, title="Visible", by=qa)
    page = login(viewer)
    page.goto("/defects/")
    expect(page.locator("#defect-table tbody tr[data-key]")).to_have_count(1)
    expect(page.locator("#bulk-bar")).to_have_count(0)
    expect(page.locator("#new-defect")).to_have_count(0)
    expect(page.locator("#import-link")).to_have_count(0)
    expect(page.locator("#defect-table input[name=ids]")).to_have_count(0)


def test_refused_move_keeps_the_comment_in_the_browser(login, make_member, project):
    qa = make_member("qa")
    defect = defect_create(project=project, title="Refund charged twice", by=qa)
    page = login(qa)
    page.goto(f"/defects/{defect.key}/")
    page.select_option("#id_to", "resolved")
    page.fill("#id_comment", "Fixed by the idempotency key in 2.8")
    page.click("#move-form button[type=submit]")  # refused: no resolution
    expect(page.locator("#action-error")).to_contain_text("needs a resolution")
    expect(page.locator("#id_comment")).to_have_value("Fixed by the idempotency key in 2.8")
    expect(page.locator("#id_to")).to_have_value("resolved")
    page.select_option("#id_resolution", "fixed")
    page.click("#move-form button[type=submit]")
    expect(page.locator("#status")).to_contain_text("Resolved")
    expect(page.locator("#timeline")).to_contain_text("Fixed by the idempotency key in 2.8")
    expect(page.locator("#timeline")).to_contain_text("(Fixed)")
    assert page.js_errors == []


def test_defect_page_details_labels_fix_version_and_tests_link(login, make_member, project):
    from defects.services import defect_transition, defect_update
    from tests.factories import ReleaseFactory

    qa = make_member("qa")
    found = ReleaseFactory(project=project, version="2.7.0")
    ReleaseFactory(project=project, version="2.10.0")
    ReleaseFactory(project=project, version="2.9.1")
    defect = defect_create(project=project, title="Receipt total wrong", by=qa, found_in_release=found)
    for to in ("triaged", "in_progress"):
        defect_transition(defect=defect, to=to, by=qa)
        defect.refresh_from_db()
    for severity in ("minor", "critical"):
        defect_update(defect=defect, by=qa, data={"severity": severity})
        defect.refresh_from_db()
    page = login(qa)
    page.goto(f"/defects/{defect.key}/")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("In progress")
    expect(timeline).not_to_contain_text("in_progress")
    expect(page.locator("#fields")).not_to_contain_text("Version 5")
    # Fix version: offered newest version first, saved, shown
    options = page.locator("#id_fixed_in_release option").all_inner_texts()
    assert options == ["—", "2.10.0", "2.9.1", "2.7.0"]
    page.select_option("#id_fixed_in_release", label="2.10.0")
    page.click("#edit-form button[type=submit]")
    expect(page.locator("#fix-version")).to_have_text("2.10.0")
    expect(timeline).to_contain_text("fix version")
    # the Tests link opens the test cases
    page.click("#nav-tests")
    page.wait_for_url("**/testcases/")
    assert page.js_errors == []


def test_board_on_a_phone_folds_filters_and_the_bulk_bar_does_not_cover_rows(login, make_member, project):
    qa = make_member("qa")
    for i in range(12):
        defect_create(project=project, title=f"Phone row {i}", by=qa)
    page = login(qa)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/defects/")
    assert page.evaluate("document.getElementById('filter-panel').open") is False
    assert page.evaluate("getComputedStyle(document.getElementById('bulk-bar')).position") == "static"
    page.mouse.wheel(0, 900)
    bar = page.locator("#bulk-bar").bounding_box()
    first_visible = page.locator("#defect-table tbody tr[data-key]").nth(6).bounding_box()
    assert (
        bar["y"] + bar["height"] <= first_visible["y"]
        or bar["y"] >= first_visible["y"] + first_visible["height"]
    )
    page.click("#filter-panel > summary")
    expect(page.locator("#f-project")).to_be_visible()
    assert page.evaluate("[document.documentElement.scrollWidth, innerWidth]") == [390, 390]
    page.screenshot(path=SHOTS / "defects_board_390.png")
    assert page.js_errors == []
