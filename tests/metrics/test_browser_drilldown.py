"""Tiles drill down to lists that count what the tile counts: three tiles followed in a real browser."""

import re

import pytest

from .demo import build_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _tile_value(page, key: str) -> int:
    text = page.locator(f".tile[data-metric='{key}'] .value").inner_text()
    return int(float(re.match(r"[\d.]+", text.strip()).group(0)))


def test_three_tiles_open_lists_with_exactly_their_count(login, project, release, qa):
    build_demo(project, release)
    page = login(qa)
    dashboard = f"/releases/{release.pk}/dashboard/"
    page.goto(dashboard)
    assert page.locator("#metrics-as-of").is_visible()
    for key in ("open_defects", "blocking_open_defects"):
        page.goto(dashboard)
        value = _tile_value(page, key)
        page.click(f".tile[data-metric='{key}'] .label a")
        page.wait_for_url(lambda url: "/defects/" in url and "status=open" in url)
        assert page.locator("#defect-table tbody tr[data-id]").count() == value, key
    page.goto(dashboard)
    shown = page.locator(".tile[data-metric='verified_requirements'] .value").inner_text()
    page.click(".tile[data-metric='verified_requirements'] .label a")
    page.wait_for_url(lambda url: "/traceability/" in url and "gap=verified" in url)
    verified = page.locator("#matrix tbody tr[data-requirement]").count()
    in_scope = int(page.locator("#matrix-summary .tile .value").first.inner_text())
    assert shown.startswith(f"{100.0 * verified / in_scope:.1f}%"), (shown, verified, in_scope)
    assert page.js_errors == []
