"""Exact replay: edits made today never change a figure as of yesterday (metrics.md, first section)."""

import importlib
from unittest import mock

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from defects.models import Defect
from defects.services import defect_update
from metrics import services
from metrics.drilldown import drilldown_parts
from metrics.flow import defect_flow
from metrics.registry import PROJECT_KEYS, RELEASE_KEYS
from metrics.release_metrics import (
    blocking_open_defects,
    defect_arrivals_7d,
    defect_leakage,
    open_defects,
    requirement_coverage,
    verified_requirements,
)
from testing import services as catalogue
from testing.asof import scope_as_of
from testing.models import Requirement, RequirementScopeChange
from testing.models import TestCase as Case
from testing.models import TestCaseLinkChange as LinkChange
from tests import factories as f

from .demo import build_demo
from .histories import DAY, HOUR, T0, defect, result

pytestmark = pytest.mark.django_db


def _values(release, as_of):
    results = services.compute_for_release(release=release, as_of=as_of)
    return {key: (r.value, r.n, r.details) for key, r in results.items()}


def _series(client, release, key):
    end = (timezone.now() - DAY).date().isoformat()
    start = (timezone.now() - 20 * DAY).date().isoformat()
    url = f"/api/v1/releases/{release.pk}/metrics/{key}/series/?from={start}&to={end}"
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()["points"]


def test_edits_today_leave_every_metric_as_of_yesterday_unchanged(project, release, api_client_for, qa):
    build_demo(project, release, days=20)
    other = f.ReleaseFactory(project=project, version="2.5.0", status="planning")
    user = qa
    client = api_client_for(user)
    yesterday = timezone.now() - DAY
    before = _values(release, yesterday)
    before_other = _values(other, yesterday)
    series_keys = [
        "defect_flow",
        "blocking_open_defects",
        "defect_leakage",
        "open_defects",
        "release_risk_score",
    ]
    series_before = {key: _series(client, release, key) for key in series_keys}
    flow_before = defect_flow(release=release, start=yesterday - 10 * DAY, end=yesterday, by_severity=True)

    defects = list(Defect.objects.filter(found_in_release=release, created_at__lt=yesterday).order_by("pk"))
    assert len(defects) > 10
    open_before = sum(1 for d in defects if d.is_open)
    assert open_before > 0 and before["blocking_open_defects"][0] is not None
    for i, d in enumerate(defects):
        data = {"severity": "trivial" if d.is_blocking else "blocker"}
        data["found_in_environment"] = (
            "development" if d.found_in_environment == "production" else "production"
        )
        if i % 3 == 0:
            data["found_in_release"] = other
        defect_update(defect=d, by=user, data=data)

    # The edits change the figures now...
    now_values = _values(release, timezone.now())
    assert now_values["blocking_open_defects"] != before["blocking_open_defects"]
    assert now_values["defect_leakage"] != before["defect_leakage"]
    # ...and none as of yesterday, for the edited release and for the one the defects moved to.
    after = _values(release, yesterday)
    assert set(after) == set(RELEASE_KEYS + PROJECT_KEYS)
    for key in after:
        assert after[key] == before[key], key
    assert _values(other, yesterday) == before_other
    assert (
        defect_flow(release=release, start=yesterday - 10 * DAY, end=yesterday, by_severity=True)
        == flow_before
    )
    for key in series_keys:
        assert _series(client, release, key) == series_before[key], key


def test_found_in_release_moves_count_where_the_defect_was_at_t(project, release):
    other = f.ReleaseFactory(project=project, version="9.9.9", status="testing")
    d = defect(release, created=T0, severity="critical", env="production")
    services_time = T0 + 2 * DAY
    with mock.patch("django.utils.timezone.now", return_value=services_time):
        defect_update(defect=d, by=None, data={"found_in_release": other, "severity": "minor"})
    with mock.patch("django.utils.timezone.now", return_value=services_time + DAY):
        d.refresh_from_db()
        defect_update(defect=d, by=None, data={"found_in_environment": "test"})
    at_1 = T0 + DAY
    assert blocking_open_defects(release=release, as_of=at_1).value == 1
    assert blocking_open_defects(release=other, as_of=at_1).value == 0
    assert defect_arrivals_7d(release=release, as_of=at_1).value == 1
    assert defect_leakage(release=release, as_of=at_1).value == 100.0
    at_2 = services_time + HOUR
    assert open_defects(release=release, as_of=at_2).value == 0
    assert open_defects(release=other, as_of=at_2).value == 1
    assert blocking_open_defects(release=other, as_of=at_2).value == 0
    assert defect_leakage(release=other, as_of=at_2).value == 100.0
    assert defect_leakage(release=other, as_of=services_time + 2 * DAY).value == 0.0


REQUIREMENT_KEYS = ("requirement_coverage", "verified_requirements", "verified_critical_requirements")


def _requirement_lists(release, as_of):
    return {
        key: {
            part: [i["id"] for i in v["items"]]
            for part, v in drilldown_parts(release=release, key=key, as_of=as_of).items()
        }
        for key in REQUIREMENT_KEYS
    }


def test_scope_and_link_changes_today_leave_every_metric_as_of_yesterday_unchanged(
    project, release, api_client_for, qa
):
    # given a release with 30 days of history, its requirements in scope and linked from the start
    build_demo(project, release, days=20)
    client = api_client_for(qa)
    yesterday = timezone.now() - DAY
    before = _values(release, yesterday)
    lists_before = _requirement_lists(release, yesterday)
    series_before = {key: _series(client, release, key) for key in (*REQUIREMENT_KEYS, "release_risk_score")}
    assert before["requirement_coverage"][0] == 75.0 and before["verified_requirements"][1] == 8

    def matrix(at):  # the traceability matrix as of T, the page the requirement tiles open
        answer = client.get(f"/api/v1/releases/{release.pk}/traceability/", {"as_of": at.isoformat()})
        assert answer.status_code == 200, answer.content
        return answer.json()

    matrix_before = matrix(yesterday)
    assert matrix_before["summary"]["requirements"] == before["verified_requirements"][1]
    assert matrix_before["summary"]["verified"] == before["verified_requirements"][2]["verified"]
    assert (
        matrix_before["summary"]["requirements"] - matrix_before["summary"]["no_tests"]
        == (before["requirement_coverage"][2]["covered"])
    )
    reqs = list(Requirement.objects.filter(releases=release).order_by("pk"))
    linked = [r for r in reqs if r.test_cases.exists()]
    # when today a requirement leaves the scope, a new uncovered one and an old one enter it, links are removed
    # from one requirement and an unlinked requirement gets a linked failing test case
    catalogue.requirement_update(requirement=linked[0], by=qa, data={"release_ids": []})
    catalogue.requirement_create(
        project=project, key="REQ-NEW", title="New today", by=qa, release_ids=[release.pk]
    )
    unlinked = next(r for r in reqs if not r.test_cases.exists())
    failing = f.TestCaseFactory(project=project)
    f.TestResultFactory(
        run=f.TestRunFactory(release=release), release=release, test_case=failing, status="failed"
    )
    catalogue.testcase_update(test_case=failing, by=qa, data={"requirement_ids": [unlinked.pk]})
    catalogue.testcases_link_requirements(
        project=project,
        by=qa,
        test_case_ids=list(linked[1].test_cases.values_list("pk", flat=True)),
        requirement_ids=[linked[1].pk],
        unlink=True,
    )
    # then the figures now move...
    now_values = _values(release, timezone.now())
    for key in ("requirement_coverage", "verified_requirements"):
        assert now_values[key][:2] != before[key][:2], key
    assert now_values["requirement_coverage"][1] == 8  # 8 - 1 + 1 in scope
    # ...and nothing as of yesterday: values, n, details, the drill-down lists and the series buckets
    after = _values(release, yesterday)
    for key in after:
        assert after[key] == before[key], key
    assert _requirement_lists(release, yesterday) == lists_before
    assert matrix(yesterday) == matrix_before
    assert matrix(timezone.now())["summary"]["requirements"] == 8
    for key, points in series_before.items():
        assert _series(client, release, key) == points, key


def test_scope_and_links_replay_to_the_instant_of_each_change(project, release, qa):
    # given a requirement put in scope at T0, linked at T0 + 1 day to a passing case, unlinked at T0 + 3 days,
    # taken out of scope at T0 + 4 days and put back at T0 + 5 days
    req = f.RequirementFactory(project=project)
    case = f.TestCaseFactory(project=project)
    result(release, case, status="passed", at=T0 - DAY)
    f.in_scope(req, release, at=T0)
    f.link(case, req, at=T0 + DAY)
    with mock.patch("django.utils.timezone.now", return_value=T0 + 3 * DAY):
        catalogue.testcases_link_requirements(
            project=project, by=qa, test_case_ids=[case.pk], requirement_ids=[req.pk], unlink=True
        )
    with mock.patch("django.utils.timezone.now", return_value=T0 + 4 * DAY):
        catalogue.requirement_update(requirement=req, by=qa, data={"release_ids": []})
    with mock.patch("django.utils.timezone.now", return_value=T0 + 5 * DAY):
        catalogue.requirement_update(requirement=req, by=qa, data={"release_ids": [release.pk]})

    def figures(at):
        return (
            requirement_coverage(release=release, as_of=at).value,
            verified_requirements(release=release, as_of=at).value,
            list(scope_as_of(release, at).values_list("pk", flat=True)),
        )

    # then each instant sees the scope and links it had
    assert figures(T0 - HOUR) == (None, None, [])
    assert figures(T0 + HOUR) == (0.0, 0.0, [req.pk])
    assert figures(T0 + 2 * DAY) == (100.0, 100.0, [req.pk])
    assert figures(T0 + 3 * DAY + HOUR) == (0.0, 0.0, [req.pk])
    assert figures(T0 + 4 * DAY + HOUR) == (None, None, [])
    assert figures(T0 + 5 * DAY + HOUR) == (0.0, 0.0, [req.pk])
    # and the history holds one row per real change, with who and when
    assert LinkChange.objects.filter(requirement=req).count() == 2
    assert list(RequirementScopeChange.objects.filter(requirement=req).values_list("added", flat=True)) == [
        True,
        False,
        True,
    ]


def test_the_migration_gives_existing_scope_and_links_a_history_start(project, release):
    # given scope and links written before their history existed (the link tables only)
    req = f.RequirementFactory(project=project)
    case = f.TestCaseFactory(project=project)
    Requirement.releases.through.objects.create(requirement=req, release=release)
    Case.requirements.through.objects.create(testcase=case, requirement=req)
    # when the migration's data step runs
    start_history = importlib.import_module("testing.migrations.0007_scope_and_link_history").start_history
    start_history(django_apps, None)
    # then the current state replays from the later creation of its two ends on, and not before
    start = max(req.created_at, release.created_at)
    assert RequirementScopeChange.objects.get(requirement=req).at == start
    assert LinkChange.objects.get(requirement=req).at == max(req.created_at, case.created_at)
    assert list(scope_as_of(release, timezone.now())) == [req]
    assert requirement_coverage(release=release, as_of=timezone.now()).value == 100.0
    assert not scope_as_of(release, start - HOUR).exists()
