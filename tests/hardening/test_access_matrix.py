"""The access matrix, generated from the URL resolver: a new page or endpoint is covered without editing this file.

1. Anonymous: every page answers GET and POST with a redirect to the login page, every API endpoint answers
   each of its methods with 401 (`WWW-Authenticate: Token`), except the public URLs in `PUBLIC`.
2. Object level: an admin of project A (the highest project role) asks for project B's objects: every API
   endpoint with a path parameter, with each method it supports, and every page with a path parameter, with
   GET and POST, answer 404 (project B does not exist for them; 403 is for members with too small a role,
   see tests/hardening/test_roles_matrix.py), and no row of any QualityGov table changes.
3. Lists filtered by B's project key show nothing of B.

Path parameters are filled from project B's seeded objects by the URL segment in front of them
(`OWNERS`); a new parameter with no entry there fails the test until one is added.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from metrics.registry import REGISTRY

from .conftest import World

pytestmark = pytest.mark.django_db


# The two projects are seeded once for the module; each test runs in a savepoint that is rolled back (conftest).
@pytest.fixture
def world_a(module_world_a):
    return module_world_a


@pytest.fixture
def world_b(module_world_b):
    return module_world_b


# URL names anyone may call without logging in, and why.
PUBLIC = {
    "login": "the login form itself",
    "logout": "logging out needs no session (it only ends one)",
    "healthz": "health checks of load balancers and compose (no data: database/redis ok or not)",
    "api-schema": "the OpenAPI description of the API (no data); the API itself needs a token",
    "api-docs": "Swagger UI over that schema (no data)",
    "api-token": "exchanges a username and password for a token (rate-limited)",
}
METHODS = ["get", "post", "put", "patch", "delete"]

# (segment before the parameter, parameter name) -> how to get the value from project B's world.
OWNERS = {
    ("projects", "key"): lambda w: w.key,
    ("projects", "project_key"): lambda w: w.key,
    ("members", "username"): lambda w: w.users["viewer"].username,
    ("defects", "key"): lambda w: w.defects[0].key,
    ("defects", "ref"): lambda w: w.defects[0].key,
    ("releases", "pk"): lambda w: w.releases[0].id,
    ("releases", "id"): lambda w: w.releases[0].id,
    ("releases", "release_id"): lambda w: w.releases[0].id,
    ("incidents", "pk"): lambda w: w.incidents[0].id,
    ("incidents", "id"): lambda w: w.incidents[0].id,
    ("actions", "item_pk"): lambda w: w.action_items[0].id,
    ("action-items", "pk"): lambda w: w.action_items[0].id,
    ("action-items", "id"): lambda w: w.action_items[0].id,
    ("requirements", "pk"): lambda w: w.requirements[0].id,
    ("requirements", "id"): lambda w: w.requirements[0].id,
    ("testcases", "pk"): lambda w: w.test_cases[0].id,
    ("testcases", "id"): lambda w: w.test_cases[0].id,
    ("runs", "pk"): lambda w: w.runs[1].id,  # the manual run: pages that execute need one
    ("runs", "id"): lambda w: w.runs[1].id,
    ("execute", "case_id"): lambda w: w.test_cases[0].id,  # the manual case the manual run covers
    ("results", "pk"): lambda w: w.results[0].id,
    ("results", "id"): lambda w: w.results[0].id,
    ("gates", "pk"): lambda w: w.gates[0].id,
    ("gates", "id"): lambda w: w.gates[0].id,
    ("gates", "gate_id"): lambda w: w.gates[0].id,
    ("checklist", "item_id"): lambda w: w.checklist_items[0].id,
    ("checklist-items", "pk"): lambda w: w.checklist_items[0].id,
    ("checklist-items", "id"): lambda w: w.checklist_items[0].id,
    ("signoffs", "pk"): lambda w: w.signoffs[0].id,
    ("signoffs", "id"): lambda w: w.signoffs[0].id,
    ("evaluations", "pk"): lambda w: w.evaluations[0].id,
    ("evaluations", "id"): lambda w: w.evaluations[0].id,
    ("decisions", "pk"): lambda w: w.decisions[0].id,
    ("decisions", "id"): lambda w: w.decisions[0].id,
    ("alert-rules", "pk"): lambda w: w.alert_rules[0].id,
    ("alert-rules", "id"): lambda w: w.alert_rules[0].id,
    ("alerts", "pk"): lambda w: w.alert_rules[0].id,
    ("junit-ingestions", "pk"): lambda w: w.junit_ingestions[0].id,
    ("uploads", "pk"): lambda w: w.junit_ingestions[0].id,
    ("notifications", "pk"): lambda w: w.notifications[0].id,
    ("webhooks", "pk"): lambda w: w.webhooks[0].id,
    # not objects of a project: any valid value, the project part of the URL is what is checked
    ("metrics", "key"): lambda w: sorted(REGISTRY)[0],
    ("metrics", "metric"): lambda w: "stability_index",
    ("measure-keys", "measure_key"): lambda w: "bundle_size_kb",
    ("measures", "measure_key"): lambda w: "bundle_size_kb",
}


@dataclass
class Route:
    name: str  # namespaced, for reverse()
    pattern: str  # the whole pattern text, for reading parameter names and their segments
    params: list[str]
    methods: list[str]
    api: bool

    @property
    def label(self) -> str:
        return f"{self.name} {self.pattern}"


def _methods(callback, api: bool) -> list[str]:
    actions = getattr(callback, "actions", None)  # DRF viewsets
    if actions:
        return [m for m in METHODS if m in actions]
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if api and cls is not None:
        return [m for m in METHODS if hasattr(cls, m)]
    return ["get", "post"]  # function views: the login middleware and the views judge every method


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for entry in resolver.url_patterns:
        text = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if text.startswith("admin/"):
                continue  # Django's admin has its own staff login (see test_admin_needs_staff_login)
            ns = entry.namespace
            yield from _walk(entry, text, f"{namespace}{ns}:" if ns else namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            params = list(entry.pattern.regex.groupindex)
            api = text.lstrip("^").startswith("api/")
            yield Route(f"{namespace}{entry.name}", text, params, _methods(entry.callback, api), api)


ROUTES = [r for r in _walk(get_resolver()) if r.name.split(":")[-1] not in PUBLIC]
OBJECT_ROUTES = [r for r in ROUTES if r.params]


def _segment_before(pattern: str, param: str) -> str:
    match = re.search(r"([A-Za-z-]+)/(?:<(?:\w+:)?" + param + r">|\(\?P<" + param + r">)", pattern)
    return match.group(1) if match else ""


def url_for(route: Route, world: World) -> str:
    kwargs = {}
    for param in route.params:
        owner = OWNERS.get((_segment_before(route.pattern, param), param))
        if owner is None:
            pytest.fail(
                f"{route.label}: no object of project B for parameter {param!r} "
                f"(after {_segment_before(route.pattern, param)!r}); add it to OWNERS"
            )
        kwargs[param] = owner(world)
    return reverse(route.name, kwargs=kwargs)


def snapshot() -> dict[str, list]:
    """Every row of every QualityGov table (the seeded data is small)."""
    rows = {}
    for label in settings.QUALITYGOV_APPS:
        for model in apps.get_app_config(label).get_models():
            rows[model._meta.label] = sorted(map(repr, model.objects.order_by().values_list()))
    return rows


def _call(client, method: str, url: str, api: bool):
    if api:
        return getattr(client, method)(url, {}, format="json")
    return getattr(client, method)(url, {})


# --- anonymous ---------------------------------------------------------------------------------------


def test_the_matrix_sees_every_app():
    """The enumeration is not empty or cut short: pages and endpoints of every app are in it."""
    patterns = " ".join(r.pattern for r in ROUTES)
    for fragment in ("defects/", "releases/", "runs/", "incidents/", "gates/", "metrics/", "api/v1/"):
        assert fragment in patterns
    assert len([r for r in ROUTES if r.api]) > 30 and len([r for r in ROUTES if not r.api]) > 40


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.label)
def test_anonymous_is_refused(route, world_b, client):
    url = url_for(route, world_b)
    before = snapshot()
    for method in route.methods:
        if route.api:
            response = _call(APIClient(), method, url, api=True)
            assert response.status_code == 401, (method, url, response.status_code)
            assert response["WWW-Authenticate"] == "Token"
        else:
            response = _call(client, method, url, api=False)
            assert response.status_code == 302, (method, url, response.status_code)
            assert response["Location"].startswith("/accounts/login/?next="), (method, url)
    assert snapshot() == before


def test_public_urls_answer_without_login(client, db):
    assert client.get("/healthz").status_code in (200, 503)
    assert client.get(reverse("login")).status_code == 200
    assert client.get(reverse("api-schema")).status_code == 200


def test_admin_needs_staff_login(client, world_b):
    response = client.get("/admin/")
    assert response.status_code == 302 and "login/?next=/admin/" in response["Location"]


# --- project A's admin against project B -------------------------------------------------------------


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=lambda r: r.label)
def test_other_projects_objects_are_out_of_reach(route, world_a, world_b, client):
    admin_a = world_a.users["admin"]
    url = url_for(route, world_b)
    before = snapshot()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {world_a.tokens['admin']}")
    client.force_login(admin_a)
    refused = []
    for method in route.methods:
        response = _call(api if route.api else client, method, url, api=route.api)
        # pages: 405 for the method a page does not have (answered before any object is looked up)
        allowed = (404,) if route.api else (404, 405)
        assert response.status_code in allowed, (method, url, response.status_code, response.content[:300])
        refused.append(response.status_code)
    assert 404 in refused, f"{route.label}: no method reached the object check"
    assert snapshot() == before, f"{route.label}: project B changed"


# (route name, method, parameters from project B's world) that only some roles may use: B's viewer is a member and
# sees B, so it gets 403 where A's admin gets 404. Pages and API side by side.
ROLE_GATED = [
    ("gates:new", "get", lambda w: {"key": w.key}),
    ("gates:edit", "post", lambda w: {"pk": w.gates[0].id}),
    ("gates:evaluate", "post", lambda w: {"pk": w.releases[0].id, "gate_id": w.gates[0].id}),
    ("releases:release_edit", "post", lambda w: {"pk": w.releases[0].id}),
    ("gates-api-detail", "patch", lambda w: {"pk": w.gates[0].id}),
    ("api-defect-transitions", "post", lambda w: {"ref": w.defects[0].key}),
    ("release-detail", "delete", lambda w: {"pk": w.releases[0].id}),
]


@pytest.mark.parametrize("name,method,params", ROLE_GATED, ids=lambda v: v if isinstance(v, str) else "")
def test_non_members_get_404_where_members_with_too_small_a_role_get_403(
    name, method, params, world_a, world_b
):
    url = reverse(name, kwargs=params(world_b))
    api = ":" not in name
    before = snapshot()
    answers = {}
    for who, world in (("stranger", world_a), ("member", world_b)):
        if api:
            client = APIClient()
            client.credentials(
                HTTP_AUTHORIZATION=f"Token {world.tokens['admin' if who == 'stranger' else 'viewer']}"
            )
        else:
            client = Client()
            client.force_login(world.users["admin" if who == "stranger" else "viewer"])
        answers[who] = _call(client, method, url, api=api).status_code
    assert answers == {"stranger": 404, "member": 403}, (method, url)
    assert snapshot() == before


LIST_ROUTES = [r for r in ROUTES if r.api and not r.params and "get" in r.methods]


@pytest.mark.parametrize("route", LIST_ROUTES, ids=lambda r: r.label)
def test_lists_filtered_by_another_project_show_nothing_of_it(route, world_a, world_b):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {world_a.tokens['admin']}")
    url = reverse(route.name)
    for query in ({"project": world_b.key}, {"release": world_b.releases[0].id}, {}):
        response = api.get(url, query)
        assert response.status_code in (200, 400, 403, 404), (url, query, response.status_code)
        if response.status_code == 200:
            text = response.content.decode()
            leaked = [d.key for d in world_b.defects if d.key in text]
            assert f'"{world_b.key}"' not in text and not leaked, (url, query, text[:300])
