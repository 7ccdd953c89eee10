"""Tiles drill down to lists that count what the tile counts: three tiles followed in a real browser."""

import re

import pytest

from .demo import build_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _tile_value(page, key: str) -> int:
    text = page.locator(f".tile[data-metric='{key}'] .value").inner_text()
    return int(float(re.match(r"-?[\d.]+", text.strip()).group(0)))


def _rows(page) -> int:
    return page.locator("#defect-table tbody tr[data-id]").count()


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


def test_net_flow_and_pass_rate_open_the_lists_they_are_made_of(login, project, release, qa):
    # given a release with 30 days of defects and runs, its dashboard
    build_demo(project, release)
    page = login(qa)
    dashboard = f"/releases/{release.pk}/dashboard/"
    page.goto(dashboard)
    net = _tile_value(page, "defect_net_flow_7d")
    # when the net-flow tile's "opened" and "closed" lists are followed (same 7 days, same T)
    page.click(".tile[data-metric='defect_net_flow_7d'] a[data-list='opened']")
    page.wait_for_url(lambda url: "/defects/" in url and "opened_after=" in url and "as_of=" in url)
    opened = _rows(page)
    assert page.locator("#time-filters").is_visible()
    page.goto(dashboard)
    page.click(".tile[data-metric='defect_net_flow_7d'] a[data-list='closed']")
    page.wait_for_url(lambda url: "/defects/" in url and "closed_after=" in url)
    closures = int(page.locator("#window-closures").inner_text())
    # then opened minus closures is the tile's value, and both lists hold something
    assert opened - closures == net and opened and closures, (opened, closures, net)
    # when the pass-rate tile is followed: the latest results it counts, passed over executed
    page.goto(dashboard)
    shown = page.locator(".tile[data-metric='test_pass_rate'] .value").inner_text()
    page.click(".tile[data-metric='test_pass_rate'] .label a")
    page.wait_for_url(lambda url: f"/releases/{release.pk}/metrics/test_pass_rate/?as_of=" in url)
    passed = int(page.locator("section[data-part='numerator'] .part-count").inner_text())
    executed = int(page.locator("section[data-part='denominator'] .part-count").inner_text())
    assert page.locator("section[data-part='denominator'] tbody tr").count() == executed
    assert shown.startswith(f"{100.0 * passed / executed:.1f}%"), (shown, passed, executed)
    # and a result opens its run
    page.locator("section[data-part='numerator'] tbody tr a").first.click()
    page.wait_for_url(lambda url: "/runs/" in url)
    # the project dashboard's MTTR tile opens the incidents it averages, and the open ones beside them
    page.goto(f"/projects/{project.key}/dashboard/")
    n = page.locator(".tile[data-metric='mttr_hours'] .muted.small").first.inner_text()
    page.click(".tile[data-metric='mttr_hours'] .label a")
    page.wait_for_url(lambda url: f"/projects/{project.key}/metrics/mttr_hours/?as_of=" in url)
    sample = page.locator("section[data-part='sample'] .part-count").inner_text()
    assert n.startswith(f"n = {sample} ") and int(sample) > 0, (n, sample)
    assert page.locator("section[data-part='open_incidents'] tbody tr").count() == 1
    # a bad as_of on the items page is named, not a 500
    page.goto(f"/releases/{release.pk}/metrics/reopen_rate/?as_of=yesterday")
    assert "as_of" in page.locator(".messages").inner_text()
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"/releases/{release.pk}/metrics/reopen_rate/")
    assert page.locator("section[data-part='denominator']").is_visible()
    assert page.js_errors == []
