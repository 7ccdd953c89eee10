"""Schemathesis over every operation of `/api/schema/`, in-process (WSGI), as every role in turn.

A seeded project (`build_world`, once for the module; each test runs in a savepoint rolled back after it), then
for each operation and each role (viewer, qa, manager, release_manager, admin) `EXAMPLES` positive and
`NEGATIVE_EXAMPLES` negative (schema-violating) examples, derandomized. Path parameters and references in bodies/queries (project key, release id, ...) are mostly
pointed at the seeded objects, so the calls reach the code behind the 404 instead of stopping at it.
Every example runs inside a savepoint that is rolled back, so destructive calls (DELETE, moves) do not
change what the next example sees: the run is deterministic.

Checks: no 5xx, the status code is documented for the operation, the content type and the body match the
schema of that status code, required headers are present.
"""

from __future__ import annotations

import functools
import os
import re

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from drf_spectacular.drainage import get_override
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from metrics.registry import REGISTRY
from qualitygov.wsgi import application

from .conftest import ROLES, World, build_world, built_once_per_module

# Examples per operation and role: 92 operations x 5 roles x (4 + 2) is at most about 2,800 calls.
EXAMPLES = int(os.environ.get("QUALITYGOV_FUZZ_EXAMPLES", "4"))
NEGATIVE_EXAMPLES = int(os.environ.get("QUALITYGOV_FUZZ_NEGATIVE_EXAMPLES", "2"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
MISSING = 987654321  # an id no seeded object has: the 404 path is fuzzed too


@functools.cache
def schema():
    """The OpenAPI schema as schemathesis reads it from `/api/schema/`: loaded on first use, not at collection."""
    return schemathesis.openapi.from_wsgi("/api/schema/", application)


@functools.cache
def operations() -> dict:
    return {op.label: op for op in (result.ok() for result in schema().get_all_operations())}


def operation_labels() -> list[str]:
    """The schema's operations as schemathesis labels them ("GET /api/v1/..."), from drf-spectacular's endpoint
    enumeration, without generating the schema (which takes seconds): collection stays quick and the schema is
    only loaded by the process that runs these tests. `test_every_schema_operation_is_fuzzed` checks the list
    against the generated schema."""
    generator = SchemaGenerator()
    labels = set()
    for path, _regex, method, callback in EndpointEnumerator().get_api_endpoints():
        view = generator.create_view(callback, method)
        if type(view).__module__.startswith("drf_spectacular.") or get_override(view, "exclude", False):
            continue  # the schema and its UI, and anything taken out of the schema
        labels.add(f"{method} {generator.coerce_path(path, method, view)}")
    return sorted(labels)


# The model a `{id}` stands for, by the path segment before it.
ID_OWNERS = {
    "releases": "releases",
    "incidents": "incidents",
    "runs": "runs",
    "results": "results",
    "requirements": "requirements",
    "testcases": "test_cases",
    "gates": "gates",
    "evaluations": "evaluations",
    "decisions": "decisions",
    "signoffs": "signoffs",
    "action-items": "action_items",
    "alert-rules": "alert_rules",
    "checklist-items": "checklist_items",
    "junit-ingestions": "junit_ingestions",
    "webhooks": "webhooks",
}


def path_candidates(path: str, name: str, world: World) -> list:
    """Values for path parameter `name` of `path` that reach the seeded project's objects."""
    if name in {"key", "metric"} and "/metrics/{" in path:
        return sorted(REGISTRY)
    if name in {"key", "project_key"}:
        return [world.key, world.key.lower()]
    if name == "username":
        return sorted(user.username for user in world.users.values())
    if name == "ref":
        return [d.key for d in world.defects] + [str(d.id) for d in world.defects]
    if name == "release_id":
        return [r.id for r in world.releases]
    if name == "measure_key":  # a custom key name (none seeded: 404) and a built-in one (not deletable: 404)
        return ["bundle_size_kb", "line_coverage"]
    segment = re.search(r"/([a-z-]+)/\{" + re.escape(name) + r"\}", path)
    owner = ID_OWNERS.get(segment.group(1)) if segment else None
    if owner is None:
        raise AssertionError(f"{path}: no seeded object for path parameter {{{name}}}; extend ID_OWNERS")
    return [obj.id for obj in getattr(world, owner)]


def reference_candidates(world: World) -> dict[str, list]:
    """Values for body/query fields that reference other objects."""
    return {
        "project": [world.key],
        "release": [r.id for r in world.releases],
        "release_id": [r.id for r in world.releases],
        "found_in_release": [r.id for r in world.releases],
        "gate": [g.id for g in world.gates],
        "evaluation": [e.id for e in world.evaluations],
        "duplicate_of": [d.key for d in world.defects],
        "defect_ids": [[d.id for d in world.defects]],
        "test_case_ids": [[tc.id for tc in world.test_cases]],
        "requirement_ids": [[r.id for r in world.requirements]],
        "release_ids": [[r.id for r in world.releases]],
        "assignee": sorted(u.username for u in world.users.values()),
        "owner": sorted(u.username for u in world.users.values()),
        "username": sorted(u.username for u in world.users.values()),
    }


def aim(case, data, world: World) -> None:
    """Point the generated case at the seeded objects (most of the time; the rest stays as generated)."""
    for name in list(case.path_parameters or {}):
        values = path_candidates(case.operation.path, name, world)
        case.path_parameters[name] = data.draw(st.sampled_from([*values, *values, MISSING]), label=name)
    refs = reference_candidates(world)
    for container in (case.body, case.query):
        if not isinstance(container, dict):
            continue
        for name in list(container):
            if name in refs and data.draw(st.booleans(), label=f"aim {name}"):
                container[name] = data.draw(st.sampled_from(refs[name]), label=name)


def fuzz(operation, world: World, role: str, mode: GenerationMode, examples: int) -> None:
    token = world.tokens[role]
    try:
        strategy = operation.as_strategy(generation_mode=mode)
    except Exception as exc:  # an operation without anything to negate has no negative examples
        if mode == GenerationMode.NEGATIVE:
            return
        raise AssertionError(f"{operation.label}: cannot build examples: {exc}") from exc

    @given(case=strategy, data=st.data())
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    def run(case, data):
        aim(case, data, world)
        with transaction.atomic():
            try:
                case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)
            finally:
                transaction.set_rollback(True)

    try:
        run()
    except Unsatisfiable:
        # nothing of this operation can be made invalid (no parameters, no body): no negative examples
        if mode != GenerationMode.NEGATIVE:
            raise


@pytest.fixture
def keep_test_connection():
    """The WSGI handler closes "old" connections around each request, which would throw away the test's
    transaction; Django's own test client disconnects that handler the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def fuzz_world(django_db_setup, django_db_blocker):
    """The seeded project, built once for the module; each test runs in a savepoint rolled back after it."""
    yield from built_once_per_module(django_db_blocker, lambda: build_world("FUZ"))


@pytest.mark.django_db
@pytest.mark.parametrize("label", operation_labels())
def test_operation_survives_fuzzing_as_every_role(label, settings, fuzz_world, keep_test_connection):
    settings.QUALITYGOV_RECOMPUTE_DELAY = 0
    world = fuzz_world
    operation = operations()[label]
    # Invalid path parameters are replaced by seeded ids anyway; only a body or a query string can be negated.
    negatable = operation.body or any(
        getattr(p.location, "value", p.location) == "query" for p in operation.iter_parameters()
    )
    for role in ROLES:
        fuzz(operation, world, role, GenerationMode.POSITIVE, EXAMPLES)
        if NEGATIVE_EXAMPLES and negatable:
            fuzz(operation, world, role, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES)


def test_every_schema_operation_is_fuzzed():
    """The parametrization above lists exactly the live schema's operations; not empty, not truncated."""
    paths = schema().raw_schema["paths"]
    expected = sum(
        1 for item in paths.values() for method in item if method in {"get", "post", "put", "patch", "delete"}
    )
    assert len(operations()) == expected
    assert operation_labels() == sorted(operations())
    assert expected > 50
