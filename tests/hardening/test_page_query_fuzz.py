"""Every page route, GET with hostile or nonsensical query parameters: a page or a 4xx, never a 5xx.

The parameter names are the ones the pages read (filters, sorting, paging, dates, buckets); the values are
what a mistyped or hand-edited URL, a stale bookmark or a scanner sends. Generated from the URL resolver like
the CSRF test, so a new page is covered without being listed here.
"""

import pytest
from django.test import Client

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
    "%00",
    "a\x00b",
    "a" * 3000,
    "null",
    "[]",
    "PAY,WEB",
)


def _junk_queries():
    """A handful of query strings per page: every name with each value, spread over a few requests."""
    for i, value in enumerate(VALUES):
        yield dict.fromkeys(NAMES[i % 3 :: 3], value)
    yield {name: [VALUES[1], VALUES[4]] for name in NAMES}  # every name twice


@pytest.mark.django_db
def test_no_page_answers_5xx_to_junk_query_parameters():
    ids = seed_ids()
    client = Client(raise_request_exception=False)
    assert client.login(username="admin", password=ids["password"])
    pages = [fill(route, ids) for route in page_routes()]
    assert len(pages) >= 60
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
