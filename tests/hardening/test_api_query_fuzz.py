"""Every API endpoint that answers GET, with each query parameter its schema documents (and the common ones it
may not) set to junk: a 2xx or a 4xx with a JSON message, never a 5xx. Runs on the CI database (PostgreSQL) and
locally on SQLite, whose integers overflow where PostgreSQL's compare."""

import re

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from .web_routes import api_routes, fill, seed_ids

COMMON = ("project", "release", "gate", "page", "page_size", "q")
VALUES = (
    "99999999999999999999",  # more than a 64-bit id
    "\u00b2",  # "²": str.isdigit() says yes, int() says no
    "-1",
    "0",
    "abc",
    "2026-13-45T25:61",
    "a" * 300,
)


def _documented_params(schema: dict) -> dict[str, set[str]]:
    """OpenAPI path template -> names of the query parameters its GET documents."""
    out = {}
    for path, item in schema["paths"].items():
        get = item.get("get")
        if get:
            out[path] = {p["name"] for p in get.get("parameters", []) if p.get("in") == "query"}
    return out


def _template(route: str) -> str:
    """A resolver route as the schema spells it: <int:pk> -> {pk}, regex groups -> {name}."""
    route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
    return "/" + route


@pytest.mark.django_db
def test_no_api_get_answers_5xx_to_junk_query_parameters():
    ids = seed_ids()
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(get_user_model().objects.get(username="admin"))
    documented = _documented_params(client.get("/api/schema/?format=json").json())
    failures, codes = [], []
    for route in api_routes():
        names = documented.get(_template(route))
        if names is None:
            continue  # no GET
        url = fill(route, ids)
        for name in sorted(names | set(COMMON)):
            for value in VALUES:
                response = client.get(url, {name: value})
                codes.append(response.status_code)
                if response.status_code >= 500:
                    failures.append((url, name, value[:25]))
                elif response.status_code >= 400:
                    assert response["Content-Type"].startswith("application/json"), (url, name, value)
    assert failures == []
    # the junk reached the views: most calls answered, many refused with a message
    assert codes.count(200) > 500 and codes.count(400) > 200 and codes.count(404) > 40
