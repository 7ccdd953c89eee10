"""Guard (no browser): every server-rendered page has a Playwright test that visits it.

The routes come from the URL resolver, so a new page without a browser test fails CI here. Each page route is
mapped to the browser test that performs its main job, and each non-page route (a form action, an htmx
fragment, a file download) to the browser test that uses it from its page. The mapping is checked, not
trusted: the named test must exist, be marked ``browser``, drive a page, and, for a page route, contain a URL
literal (``page.goto(...)``, ``wait_for_url(...)``) that the route's pattern matches.

To add a page: write its browser test, then add a line to PAGES. API, admin, schema/docs and /healthz are
not pages and are left out by prefix.
"""

import ast
import re
from functools import cache
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

ROOT = Path(__file__).resolve().parent.parent

# Route prefixes that are not server-rendered pages: the API (fuzzed and tested elsewhere), its schema and
# docs, Django's admin, the health check.
NOT_PAGE_PREFIXES = ("api/", "admin/", "healthz")

# The browser test modules named below.
ACCOUNTS = "tests/foundation/test_browser_accounts.py::"
RELEASES = "tests/foundation/test_browser_releases.py::"
FOUNDATION = "tests/foundation/test_pages.py::"
DEFECTS = "tests/defects/test_browser.py::"
DEFECTS_IMPORT = "tests/defects/test_browser_import.py::"
TESTING = "tests/testing/test_browser.py::"
TESTING_EDIT = "tests/testing/test_browser_edit.py::"
TESTING_UPLOAD = "tests/testing/test_browser_junit_upload.py::"
TESTING_QA_LEAD = "tests/testing/test_browser_qa_lead.py::"
INCIDENTS = "tests/incidents/test_incidents.py::"
INCIDENT_PAGES = "tests/incidents/test_browser_incident_pages.py::"
METRICS = "tests/metrics/test_browser.py::"
METRICS_PAGES = "tests/metrics/test_browser_pages.py::"
GATES = "tests/gates/test_browser.py::"
GATES_PAGES = "tests/gates/test_browser_pages.py::"
MEASURES = "tests/measures/test_browser.py::"
NOTIFICATIONS = "tests/notifications/test_browser.py::"

# page route name -> the browser test ("path::function") that clicks through the page's main job
PAGES = {
    "home": ACCOUNTS + "test_login_home_and_logout",
    "login": ACCOUNTS + "test_login_home_and_logout",
    "api_token": ACCOUNTS + "test_api_token_page_regenerates_and_revokes",
    "releases:project_create": FOUNDATION + "test_browser_new_project_then_filter_releases",
    "releases:project_detail": RELEASES + "test_release_create_and_edit_from_project",
    "releases:project_members": RELEASES + "test_members_add_change_role_remove",
    "releases:release_create": RELEASES + "test_release_create_and_edit_from_project",
    "releases:release_list": FOUNDATION + "test_browser_new_project_then_filter_releases",
    "releases:release_detail": RELEASES + "test_release_create_and_edit_from_project",
    "releases:release_edit": RELEASES + "test_release_create_and_edit_from_project",
    "defects:board": DEFECTS + "test_keyboard_help_and_search_focus",
    "testing:result_file_defect": TESTING_QA_LEAD + "test_plan_execute_keep_typed_and_file_once",
    "defects:create": DEFECTS + "test_create_form_suggests_duplicates_while_typing",
    "defects:import": DEFECTS_IMPORT + "test_jira_import_dry_run_then_import",
    "defects:detail": DEFECTS + "test_illegal_move_message_and_comment_in_browser",
    "testing:requirement_list": TESTING + "test_requirements_and_test_cases_pages_click_through",
    "testing:requirement_create": TESTING_EDIT + "test_requirement_create_edit_and_link",
    "testing:requirement_detail": TESTING_EDIT + "test_requirement_create_edit_and_link",
    "testing:requirement_edit": TESTING_EDIT + "test_requirement_create_edit_and_link",
    "testing:testcase_list": TESTING + "test_requirements_and_test_cases_pages_click_through",
    "testing:testcase_create": TESTING_EDIT + "test_testcase_create_edit_and_bulk_link",
    "testing:testcase_edit": TESTING_EDIT + "test_testcase_create_edit_and_bulk_link",
    "testing:run_list": TESTING + "test_requirements_and_test_cases_pages_click_through",
    "testing:run_detail": TESTING + "test_run_page_shows_comparison_and_escapes_messages",
    "testing:junit_upload": TESTING_UPLOAD + "test_upload_junit_from_the_release_page_lands_on_the_run",
    "testing:junit_ingestion": TESTING_UPLOAD
    + "test_a_large_upload_shows_its_pending_state_then_links_to_the_run",
    "testing:project_test_settings": "tests/testing/test_test_settings_page.py::"
    "test_an_admin_switches_to_flag_only_from_the_project_page_at_phone_width",
    "testing:run_execute": TESTING_EDIT + "test_manual_run_execute_and_complete",
    "testing:run_create": TESTING + "test_tester_executes_manual_run_step_by_step_and_files_a_defect",
    "testing:traceability": TESTING + "test_matrix_page_gap_filter_and_csv",
    "incidents:incident_list": INCIDENTS + "test_browser_record_restore_and_write_postmortem",
    "incidents:incident_create": INCIDENT_PAGES + "test_create_edit_and_close_action_item",
    "incidents:incident_detail": INCIDENT_PAGES + "test_create_edit_and_close_action_item",
    "incidents:incident_edit": INCIDENT_PAGES + "test_create_edit_and_close_action_item",
    "dashboards:portfolio": METRICS + "test_portfolio_lists_active_releases_by_risk_and_links_to_dashboards",
    "dashboards:release_dashboard": METRICS
    + "test_release_dashboard_draws_every_chart_and_opens_the_list_behind_a_bar",
    "dashboards:project_dashboard": METRICS
    + "test_project_dashboard_shows_trends_releases_and_overdue_items",
    "metrics:alert_rules": METRICS + "test_alert_rules_page_adds_a_rule_and_a_webhook",
    "metrics:release_metric_items": "tests/metrics/test_browser_drilldown.py::"
    + "test_net_flow_and_pass_rate_open_the_lists_they_are_made_of",
    "metrics:project_metric_items": "tests/metrics/test_browser_drilldown.py::"
    + "test_net_flow_and_pass_rate_open_the_lists_they_are_made_of",
    "metrics:project_policy": MEASURES
    + "test_admin_changes_a_weight_the_score_follows_and_a_past_snapshot_keeps_the_old_score",
    "measures:release_evidence": MEASURES
    + "test_release_evidence_page_uploads_coverage_and_sarif_and_lists_new_findings",
    "measures:measure_keys": MEASURES + "test_admin_defines_and_removes_a_custom_measure_key",
    "gates:index": GATES + "test_gate_index_and_editor",
    "gates:edit": GATES + "test_gate_index_and_editor",
    "gates:new": GATES_PAGES + "test_admin_creates_a_gate_from_the_index",
    "gates:audit": GATES + "test_evaluation_detail_and_audit_log",
    "gates:release_gates": GATES
    + "test_release_manager_evaluates_sees_why_records_go_with_waivers_and_prints",
    "gates:decide": GATES + "test_release_manager_evaluates_sees_why_records_go_with_waivers_and_prints",
    "gates:evaluation": GATES + "test_evaluation_detail_and_audit_log",
    "gates:readiness": GATES + "test_release_manager_evaluates_sees_why_records_go_with_waivers_and_prints",
    "notifications:list": NOTIFICATIONS + "test_browser_bell_shows_unread_and_the_list_marks_read",
    "notifications:preferences": NOTIFICATIONS + "test_browser_preferences_switch_off_email_for_a_kind",
}

# route name -> (kind, the page it belongs to, the browser test that uses it from that page)
ACTION, FRAGMENT, DOWNLOAD = "form action", "htmx fragment", "download"
NOT_PAGES = {
    "logout": (ACTION, "home", ACCOUNTS + "test_login_home_and_logout"),
    "defects:bulk": (
        ACTION,
        "defects:board",
        DEFECTS + "test_qa_lead_path_import_filter_assign_duplicate_reopen",
    ),
    "defects:similar_preview": (
        FRAGMENT,
        "defects:create",
        DEFECTS + "test_create_form_suggests_duplicates_while_typing",
    ),
    "defects:move": (
        ACTION,
        "defects:detail",
        DEFECTS + "test_qa_lead_path_import_filter_assign_duplicate_reopen",
    ),
    "defects:comment": (
        ACTION,
        "defects:detail",
        DEFECTS + "test_illegal_move_message_and_comment_in_browser",
    ),
    "defects:edit": (ACTION, "defects:detail", DEFECTS_IMPORT + "test_defect_page_edit_form_changes_fields"),
    "defects:mark_duplicate": (
        ACTION,
        "defects:detail",
        DEFECTS + "test_qa_lead_path_import_filter_assign_duplicate_reopen",
    ),
    "defects:similar": (
        FRAGMENT,
        "defects:detail",
        DEFECTS + "test_qa_lead_path_import_filter_assign_duplicate_reopen",
    ),
    "testing:requirement_link": (
        ACTION,
        "testing:requirement_detail",
        TESTING_EDIT + "test_requirement_create_edit_and_link",
    ),
    "testing:testcase_bulk_link": (
        ACTION,
        "testing:testcase_list",
        TESTING_EDIT + "test_testcase_create_edit_and_bulk_link",
    ),
    "testing:run_record": (
        FRAGMENT,
        "testing:run_execute",
        TESTING_EDIT + "test_manual_run_execute_and_complete",
    ),
    "testing:run_counts": (
        FRAGMENT,
        "testing:run_execute",
        TESTING_EDIT + "test_manual_run_execute_and_complete",
    ),
    "testing:run_complete": (
        ACTION,
        "testing:run_execute",
        TESTING_EDIT + "test_manual_run_execute_and_complete",
    ),
    "incidents:incident_restore": (
        ACTION,
        "incidents:incident_detail",
        INCIDENTS + "test_browser_record_restore_and_write_postmortem",
    ),
    "incidents:postmortem_save": (
        ACTION,
        "incidents:incident_detail",
        INCIDENTS + "test_browser_record_restore_and_write_postmortem",
    ),
    "incidents:action_item_create": (
        ACTION,
        "incidents:incident_detail",
        INCIDENT_PAGES + "test_create_edit_and_close_action_item",
    ),
    "incidents:action_item_status": (
        ACTION,
        "incidents:incident_detail",
        INCIDENT_PAGES + "test_create_edit_and_close_action_item",
    ),
    "dashboards:release_recompute": (
        ACTION,
        "dashboards:release_dashboard",
        METRICS_PAGES + "test_release_dashboard_recompute_button",
    ),
    "metrics:alert_rule_delete": (
        ACTION,
        "metrics:alert_rules",
        METRICS_PAGES + "test_alert_rule_is_deleted_from_its_page",
    ),
    "measures:measure_key_delete": (
        ACTION,
        "measures:measure_keys",
        MEASURES + "test_admin_defines_and_removes_a_custom_measure_key",
    ),
    "testing:junit_ingestion_status": (
        FRAGMENT,
        "testing:junit_ingestion",
        TESTING_UPLOAD + "test_a_large_upload_shows_its_pending_state_then_links_to_the_run",
    ),
    "gates:release_gates_panel": (
        FRAGMENT,
        "releases:release_detail",
        GATES + "test_release_page_loads_the_gate_panel",
    ),
    "gates:evaluate": (
        ACTION,
        "gates:release_gates",
        GATES + "test_release_manager_evaluates_sees_why_records_go_with_waivers_and_prints",
    ),
    "gates:sign": (ACTION, "gates:release_gates", GATES + "test_sign_off_and_revoke_in_the_browser"),
    "gates:revoke": (ACTION, "gates:release_gates", GATES + "test_sign_off_and_revoke_in_the_browser"),
    "gates:readiness_pdf": (
        DOWNLOAD,
        "gates:readiness",
        GATES + "test_release_manager_evaluates_sees_why_records_go_with_waivers_and_prints",
    ),
    "notifications:mark_read": (
        FRAGMENT,
        "notifications:list",
        NOTIFICATIONS + "test_browser_bell_shows_unread_and_the_list_marks_read",
    ),
    "notifications:open": (
        ACTION,
        "notifications:list",
        NOTIFICATIONS + "test_browser_opening_a_notification_goes_to_the_defect_and_marks_it_read",
    ),
}


def _walk(resolver, prefix="", namespace=None):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            yield from _walk(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield name, prefix + str(entry.pattern)


def page_routes() -> dict[str, str]:
    """Every named route that is not API/admin/health: route name -> its pattern."""
    routes = {}
    for name, pattern in _walk(get_resolver()):
        if pattern.startswith(NOT_PAGE_PREFIXES):
            continue
        assert name, f"route {pattern!r} has no name: name it so it can be mapped here"
        routes[name] = pattern
    return routes


@cache
def _module(path: str) -> ast.Module:
    return ast.parse((ROOT / path).read_text(encoding="utf-8"))


def _is_browser_mark(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "browser"


def _find_test(ref: str) -> ast.FunctionDef:
    path, _, name = ref.partition("::")
    assert (ROOT / path).is_file(), f"{ref}: no such file"
    module = _module(path)
    functions = [n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == name]
    assert functions, f"{ref}: no such test function"
    return functions[0]


def _is_browser_test(ref: str, function: ast.FunctionDef) -> bool:
    module = _module(ref.partition("::")[0])
    marked = any(
        _is_browser_mark(d) for d in ast.walk(ast.Module(body=function.decorator_list, type_ignores=[]))
    )
    for node in module.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in node.targets):
            marked = marked or any(_is_browser_mark(n) for n in ast.walk(node.value))
    drives_a_page = {"page", "login"} & {a.arg for a in function.args.args}
    return marked and bool(drives_a_page)


HOLE = "W"  # what an f-string expression or a glob wildcard becomes


def _url_literals(function: ast.FunctionDef) -> set[str]:
    found = set()
    for node in ast.walk(function):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else HOLE for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        if "/" in text:
            found.add(re.sub(r"\*+", HOLE, text))
    return found


def _route_regex(pattern: str) -> re.Pattern:
    parts = re.split(r"<[^>]+>", pattern)
    body = "[^/?]+".join(re.escape(p) for p in parts)
    return re.compile(rf"^(?:https?://[^/]+)?(?:{HOLE})?/?{body}(?:\?.*)?$")


def _visits(function: ast.FunctionDef, pattern: str) -> bool:
    regex = _route_regex(pattern)
    return any(regex.match(literal) for literal in _url_literals(function))


def test_every_page_route_is_mapped_to_a_browser_test():
    routes = page_routes()
    unmapped = sorted(set(routes) - set(PAGES) - set(NOT_PAGES))
    assert not unmapped, (
        "These routes have no browser test in tests/test_pages_covered.py: "
        + ", ".join(f"{n} ({routes[n]})" for n in unmapped)
        + ". Write a Playwright test that does the page's job and map it in PAGES (or, for a form action, "
        "htmx fragment or download, in NOT_PAGES with the test that uses it)."
    )
    stale = sorted((set(PAGES) | set(NOT_PAGES)) - set(routes))
    assert not stale, f"mapped routes that no longer exist: {stale}"
    assert not set(PAGES) & set(NOT_PAGES)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_test_exists_is_a_browser_test_and_visits_the_route(name):
    ref = PAGES[name]
    function = _find_test(ref)
    assert _is_browser_test(ref, function), f"{ref} is not a browser test (mark browser, page/login fixture)"
    pattern = page_routes()[name]
    assert _visits(function, pattern), (
        f"{ref} has no URL literal matching /{pattern} (goto or wait_for_url it, so the visit is explicit)"
    )


@pytest.mark.parametrize("name", sorted(NOT_PAGES))
def test_non_page_route_is_used_by_a_browser_test_of_its_page(name):
    kind, host, ref = NOT_PAGES[name]
    assert kind in (ACTION, FRAGMENT, DOWNLOAD)
    assert host in PAGES, f"{name} belongs to {host}, which is not a mapped page"
    function = _find_test(ref)
    assert _is_browser_test(ref, function), f"{ref} is not a browser test (mark browser, page/login fixture)"


@pytest.mark.parametrize(
    "pattern, literal, expected",
    [
        ("releases/<int:pk>/gates/", "/releases/W/gates/", True),
        ("releases/<int:pk>/gates/", "W/releases/W/gates/", True),
        ("releases/<int:pk>/", "/releases/W/gates/", False),
        ("requirements/", "/requirements/?project=PAY", True),
        ("", "/", True),
        ("", "/defects/", False),
        ("gates/<int:pk>/edit/", "W/gates/W/edit/", True),
        ("projects/<str:key>/", "/projects/new/", True),  # a str converter matches any segment
        ("projects/<str:key>/members/", "/projects/PAY/", False),
    ],
)
def test_route_matching_is_strict_enough(pattern, literal, expected):
    assert bool(_route_regex(pattern).match(literal)) is expected
