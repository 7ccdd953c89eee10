"""The QA lead's day in a real browser: import, filter, bulk-assign, duplicate, resolve/reopen/resolve, timeline."""

import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from defects.models import Defect

SHOTS = Path(tempfile.gettempdir())

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = """Summary,Issue id,Status,Priority,Resolution,Created,Resolved,Affects Version/s,Description
Checkout crashes on empty cart,2001,Open,Blocker,,01/Oct/21 10:00,,3.0,"Open the cart with nothing in it
and press pay: the page crashes."
Checkout crash when the cart is empty,2002,Open,Blocker,,02/Oct/21 11:00,,3.0,Crash on pay with an empty cart.
Login is slow,2003,Open,Minor,,03/Oct/21 12:00,,3.0,Takes 5 s.
Search returns nothing,2004,Resolved,Blocker,Fixed,04/Oct/21 09:00,05/Oct/21 09:00,3.0,
"""


def test_qa_lead_path_import_filter_assign_duplicate_reopen(login, make_member, project, tmp_path, manager):
    make_member("qa", username="dev")
    page = login(manager)
    csv_path = tmp_path / "jira.csv"
    csv_path.write_text(CSV, encoding="utf-8")

    # import the CSV through the upload page
    page.goto("/defects/import/")
    page.select_option("#id_project", "PAY")
    page.set_input_files("#id_file", str(csv_path))
    page.click("#import-submit")
    expect(page.locator("#import-report")).to_contain_text("Import finished")
    expect(page.locator("#created-count")).to_have_text("4")
    page.screenshot(path=SHOTS / "defects_import.png", full_page=True)

    # filter to open blockers
    page.click("#to-board")
    page.click("#quick-open-blockers")
    rows = page.locator("#defect-table tbody tr[data-key]")
    expect(rows).to_have_count(2)

    # select both with the keyboard and bulk-assign them
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(page.locator("#selected-count")).to_have_text("2")
    page.keyboard.press("a")
    page.select_option("#bulk-assignee", "dev")
    page.click("#bulk-apply")
    expect(page.locator("#bulk-report")).to_contain_text("2 changed")
    expect(page.locator("#defect-table tbody")).to_contain_text("dev")
    assert page.url.endswith("severity=blocker") or "severity=blocker" in page.url  # no reload, URL kept
    page.screenshot(path=SHOTS / "defects_board.png", full_page=True)
    assert set(
        Defect.objects.filter(severity="blocker", status="new").values_list("assignee__username", flat=True)
    ) == {"dev"}

    # find the duplicate from the detail page of the second crash and mark it
    copy = Defect.objects.get(external_id="2002")
    original = Defect.objects.get(external_id="2001")
    page.goto(f"/defects/{copy.key}/")
    candidate = page.locator(f"#similar-list li[data-key='{original.key}']")
    expect(candidate).to_be_visible()
    candidate.get_by_role("button", name="Duplicate of this").click()
    expect(page.locator("#duplicate-of")).to_contain_text(original.key)
    expect(page.locator("#resolution")).to_have_text("Duplicate")

    # resolve -> reopen -> resolve the original
    page.goto(f"/defects/{original.key}/")
    expect(page.locator("#duplicates")).to_contain_text(copy.key)
    for to, resolution in (("resolved", "fixed"), ("reopened", ""), ("resolved", "fixed")):
        page.select_option("#id_to", to)
        page.select_option("#id_resolution", resolution)
        page.click("#move-form button[type=submit]")
        expect(page.locator("#status")).to_contain_text(to.capitalize())
    timeline = page.locator("#timeline")
    expect(timeline.locator("li")).to_have_count(5)  # created, assignee change, 3 moves
    expect(timeline).to_contain_text(re.compile(r"Resolved\s*→\s*Reopened"))
    expect(timeline).to_contain_text("Changed assignee")
    page.screenshot(path=SHOTS / "defects_detail.png", full_page=True)
    assert page.js_errors == []


def test_illegal_move_message_and_comment_in_browser(login, project, qa):
    from defects.services import defect_create

    defect = defect_create(project=project, title="Export truncates names", by=qa)
    page = login(qa)
    page.goto(f"/defects/{defect.key}/")
    page.select_option("#id_to", "resolved")
    page.click("#move-form button[type=submit]")  # no resolution given
    expect(page.locator("#action-error")).to_contain_text("needs a resolution")
    page.fill("#id_body", "Seen with names over 64 characters.")
    page.click("#comment-form button[type=submit]")
    expect(page.locator("#timeline")).to_contain_text("Seen with names over 64 characters.")
    assert page.js_errors == []


def test_create_form_suggests_duplicates_while_typing(login, project, qa):
    from defects.services import defect_create

    defect_create(project=project, title="Refund fails with gateway timeout", by=qa)
    page = login(qa)
    page.goto("/defects/new/")
    page.locator("#id_title").press_sequentially("gateway timeout on refund", delay=20)
    expect(page.locator("#similar-preview")).to_contain_text("Refund fails with gateway timeout")
    page.screenshot(path=SHOTS / "defects_create.png", full_page=True)
    page.click("#create-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("gateway timeout on refund")
    assert page.js_errors == []


def test_create_form_forgives_a_typo_and_the_new_defects_page_lists_the_original(login, project, qa):
    from defects.services import defect_create

    # given the original among look-alikes that differ in one word
    original = defect_create(project=project, title="Export of accounts times out", by=qa)
    defect_create(project=project, title="Export of invoices times out", by=qa)
    defect_create(project=project, title="Login page layout broken on tablet", by=qa)
    page = login(qa)
    page.goto("/defects/new/")
    # when the title is typed with a typo ("acounts"), the debounced suggestions list the original first
    page.locator("#id_title").press_sequentially("Export of acounts times out", delay=20)
    suggestions = page.locator("#similar-preview li")
    expect(suggestions.first).to_have_attribute("data-key", original.key)
    expect(suggestions.first).to_contain_text("Export of accounts times out")
    # and once filed anyway, the new defect's page lists the original as a likely duplicate
    page.click("#create-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Export of acounts times out")
    candidates = page.locator("#similar-list li")
    expect(candidates.first).to_have_attribute("data-key", original.key)
    assert page.js_errors == []


def test_keyboard_help_and_search_focus(login, project, viewer):
    page = login(viewer)
    page.goto("/defects/")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("?")
    expect(page.locator("#kbd-help")).to_be_visible()
    page.keyboard.press("/")
    expect(page.locator("#f-q")).to_be_focused()
    assert page.js_errors == []
