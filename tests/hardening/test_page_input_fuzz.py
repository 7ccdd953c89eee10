"""Every page route, GET with hostile or nonsensical query parameters and POST with such form fields: a page, a
redirect or a 4xx, never a 5xx.

The names are the ones the pages read (filters, sorting, paging, dates, buckets, the fields of every form); the
values are what a mistyped or hand-edited URL, a stale bookmark, a pasted text or a scanner sends. Generated
from the URL resolver like the CSRF test, so a new page is covered without being listed here.
"""

import pytest
from django.db.models import Q
from django.test import Client

from metrics import services as metric_services
from releases.models import ACTIVE_RELEASE_STATUSES, Project, Release
from testing.models import Requirement

from ..factories import UserFactory
from ..worldcache import cached_world
from .web_routes import fill, page_routes, seed_ids

NAMES = (
    "project",
    "release",
    "status",
    "severity",
    "priority",
    "assignee",
    "component",
    "environment",
    "q",
    "sort",
    "order",
    "page",
    "page_size",
    "per_page",
    "flaky",
    "suite",
    "gap",
    "requirement",
    "gate",
    "kind",
    "as_of",
    "from",
    "to",
    "bucket",
    "metric",
    "days",
    "since",
    "until",
    "action",
    "user",
    "format",
    "export",
    "run",
    "compare",
    "title",
    "description",
    "selected",
    "ids",
    "state",
    "outcome",
    "role",
    "tab",
    "next",
)
VALUES = (
    "",
    "-1",
    "0",
    "99999999999999999999",
    "abc",
    "1.5",
    "'; DROP TABLE x;--",
    "<script>alert(1)</script>",
    "2026-13-45",
    "9999-12-31T99:99",
    "\u00e9\u2603",
    "\u00b2",  # "²": str.isdigit() says yes, int() says no
    "%00",
    "a\x00b",
    "a" * 3000,
    "null",
    "[]",
    "PAY,WEB",
)


# the fields the pages' forms read, beside the query names above
FORM_FIELDS = (
    *NAMES,
    *("resolution", "comment", "rationale", "decision", "evaluation", "justification", "owner", "expires"),
    *("due_date", "started_at", "detected_at", "restored_at", "version", "planned_release_date", "threshold"),
    *("operator", "error_threshold", "warn_threshold", "missing_data", "key", "name", "text", "duplicate_of"),
    *("at", "created_at", "username", "url", "secret", "steps", "test_cases", "requirements", "defect_ids"),
    *("value", "expected_version", "reason", "criticality", "change_class", "email", "is_active", "dry_run"),
)


def _junk_queries():
    """A handful of query strings per page: every name with each value, spread over a few requests."""
    for i, value in enumerate(VALUES):
        yield dict.fromkeys(NAMES[i % 3 :: 3], value)
    yield {name: [VALUES[1], VALUES[4]] for name in NAMES}  # every name twice


# The sweeps are split into shards (every SHARDS-th route from the n-th), so that pytest-xdist spreads them over
# its workers instead of one worker running a whole sweep while the others idle. Together they call every route.
SHARDS = 6


def _seed_with_figures() -> dict:
    """The demo world of seed_ids() with the current figures of every release the swept pages show (PAY's, on its
    dashboard, and the active ones, on the portfolio) and of every project stored, as a recompute stores them:
    the dashboards read them instead of computing 50 releases' metrics on each of the sweeps' thousands of
    requests. (The junk parameters do not reach the metrics; pages computing figures fresh are swept by the
    CSRF/CSP and hostile-input tests, which use seed_ids() as it is.)"""
    ids = seed_ids()
    shown = Release.objects.filter(Q(project__key=ids["project_key"]) | Q(status__in=ACTIVE_RELEASE_STATUSES))
    for release in shown.select_related("project").order_by("id"):
        metric_services.snapshot_release(release=release)
    for project in Project.objects.order_by("id"):
        metric_services.snapshot_project(project=project)
    return ids


def seed_ids_with_figures() -> dict:
    return cached_world("demo-with-figures", _seed_with_figures)


def test_the_shards_cover_every_route_once():
    routes = page_routes()
    shards = [routes[shard::SHARDS] for shard in range(SHARDS)]
    assert sorted(route for shard in shards for route in shard) == routes
    assert all(shards)


@pytest.mark.django_db
@pytest.mark.parametrize("shard", range(SHARDS))
def test_no_page_answers_5xx_to_junk_query_parameters(shard):
    ids = seed_ids_with_figures()
    client = Client(raise_request_exception=False)
    assert client.login(username="admin", password=ids["password"])
    routes = page_routes()
    assert len(routes) >= 60
    pages = [fill(route, ids) for route in routes[shard::SHARDS]]
    failures = []
    answered = 0
    for url in pages:
        for query in _junk_queries():
            response = client.get(url, query)
            answered += 1
            if response.status_code >= 500:
                failures.append((url, {k: v[:40] if isinstance(v, str) else v for k, v in query.items()}))
                break
    assert failures == []
    assert answered == len(pages) * (len(VALUES) + 1)


@pytest.mark.django_db
@pytest.mark.parametrize("shard", range(SHARDS))
def test_no_page_answers_5xx_to_junk_form_fields(shard):
    """POST every form field the pages read, with each junk value, to every page route (CSRF checks off: the
    CSRF test covers them) as the demo admin, and the decision pages also as the release manager."""
    ids = seed_ids_with_figures()
    admin, rm = Client(raise_request_exception=False), Client(raise_request_exception=False)
    assert admin.login(username="admin", password=ids["password"])
    assert rm.login(username="rm", password=ids["password"])
    routes = [r for r in page_routes() if "logout" not in r]  # the one POST that would end the session
    calls = [(admin, fill(r, ids)) for r in routes] + [(rm, fill(r, ids)) for r in routes if "decision" in r]
    assert len(calls) >= 65
    failures, codes = [], []
    for client, url in calls[shard::SHARDS]:
        for value in VALUES:
            status = client.post(url, dict.fromkeys(FORM_FIELDS, value)).status_code
            codes.append(status)
            if status >= 500:
                failures.append((url, repr(value)[:40]))
                break
    assert failures == []
    # the forms really were read: some posts succeeded (2xx/3xx) and some were refused as invalid (400); more
    # than 100 of each over all the shards, so more than 100 / SHARDS in each
    assert codes.count(400) > 100 / SHARDS and sum(200 <= c < 400 for c in codes) > 100 / SHARDS


@pytest.mark.django_db
def test_a_nul_in_a_form_field_is_a_400_before_any_view(client):
    """Found by the test above: `project=a%00b` posted to the new-requirement form reached a PostgreSQL lookup."""
    client.force_login(UserFactory(username="alice", is_superuser=True))
    response = client.post("/requirements/new/", {"project": "a\x00b", "title": "Login"})
    assert response.status_code == 400
    assert b"without control characters" in response.content and b"found NUL" in response.content
    assert not Requirement.objects.exists()
    # the same page still answers an ordinary (invalid) post
    assert client.post("/requirements/new/", {"project": "NOPE", "title": "Login"}).status_code == 404
