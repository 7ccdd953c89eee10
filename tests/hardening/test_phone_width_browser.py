"""Every page at phone width (390 px, issue 16 item 7), in headless Chromium with the seeded demo data: the
document never scrolls sideways (`scrollWidth <= innerWidth`); wide tables scroll inside their card. The route
list is the resolver's (tests/hardening/web_routes.py), so a new page is covered without a line here.

Screenshots of every page land in $QUALITYGOV_SCREENSHOTS (default: the temp dir)/phone-390/."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest

from .test_web_security_browser import html_pages
from .web_routes import seed_ids

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 390
SHOTS = Path(os.environ.get("QUALITYGOV_SCREENSHOTS", tempfile.gettempdir())) / "phone-390"

# What overflows, for the failure message: the widest elements that stick out to the right.
WIDEST = """
() => Array.from(document.querySelectorAll('body *'))
  .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
  .filter(el => !el.closest('.scroll-x, .table-wrap, pre, .chart'))
  .slice(0, 5)
  .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
             (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
             ' right=' + Math.round(el.getBoundingClientRect().right))
"""


def _overflow(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def _shot(page, url: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9]+", "_", url).strip("_") or "home"
    page.screenshot(path=SHOTS / f"{name}.png")  # the first screen, as a phone shows it


def test_every_page_fits_a_390px_phone(page, live_server):
    ids = seed_ids()
    pages = html_pages(ids)
    assert len(pages) > 40 and "/defects/" in pages and f"/runs/{ids['run']}/" in pages
    page.set_viewport_size({"width": WIDTH, "height": 844})
    too_wide = []
    # the login page, before logging in
    page.goto("/accounts/login/")
    width, inner = _overflow(page)
    if width > inner:
        too_wide.append(f"/accounts/login/: {width} > {inner}")
    page.fill("#id_username", "admin")
    page.fill("#id_password", ids["password"])
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    for url in pages:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        width, inner = _overflow(page)
        _shot(page, url)
        if width > inner:
            too_wide.append(f"{url}: {width} > {inner} ({', '.join(page.evaluate(WIDEST))})")
    assert not too_wide, "Pages wider than a 390 px phone:\n" + "\n".join(too_wide)


def test_top_bar_wraps_and_log_out_is_on_screen(page, live_server, make_member):
    from tests.conftest import PASSWORD

    user = make_member("qa")
    page.set_viewport_size({"width": WIDTH, "height": 844})
    page.goto("/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    box = page.get_by_role("button", name="Log out").bounding_box()
    assert box is not None and box["x"] + box["width"] <= WIDTH
    assert _overflow(page)[0] <= WIDTH
