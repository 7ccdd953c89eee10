"""Release metrics checked against values computed on paper (the arithmetic is in the comments)."""

import pytest

from metrics.registry import RELEASE_KEYS
from metrics.services import compute_for_release
from tests import factories as f

from .histories import DAY, HOUR, T0, defect, result

pytestmark = pytest.mark.django_db


@pytest.fixture
def defect_history(release):
    """Six defects of release 2.4.0 around T0 (see each line)."""
    # A: new -10d, in_progress -9d, resolved(fixed) -8d, reopened -6d, resolved(fixed) -5d, closed -4d.
    #    open intervals: new 24h + in_progress 24h + reopened 24h = 72h; reopened once; test env.
    defect(
        release,
        created=T0 - 10 * DAY,
        moves=[
            ("in_progress", T0 - 9 * DAY, ""),
            ("resolved", T0 - 8 * DAY, "fixed"),
            ("reopened", T0 - 6 * DAY, ""),
            ("resolved", T0 - 5 * DAY, "fixed"),
            ("closed", T0 - 4 * DAY, "fixed"),
        ],
    )
    # B: blocker, production, new -3d, triaged -2d: open at T0.
    defect(
        release,
        created=T0 - 3 * DAY,
        severity="blocker",
        env="production",
        moves=[("triaged", T0 - 2 * DAY, "")],
    )
    # C: critical, production, resolved as duplicate -5d: not a valid defect.
    defect(
        release,
        created=T0 - 6 * DAY,
        severity="critical",
        env="production",
        moves=[("resolved", T0 - 5 * DAY, "duplicate")],
    )
    # D: minor, staging, new -2d, resolved(fixed) -1d: open 24h.
    defect(
        release,
        created=T0 - 2 * DAY,
        severity="minor",
        env="staging",
        moves=[("resolved", T0 - 1 * DAY, "fixed")],
    )
    # E: created after T0: invisible as of T0.
    defect(release, created=T0 + DAY, severity="blocker")
    # F: development, new -20d, resolved(fixed) -15d (open 120h), reopened after T0 (the future).
    defect(
        release,
        created=T0 - 20 * DAY,
        env="development",
        moves=[("resolved", T0 - 15 * DAY, "fixed"), ("reopened", T0 + HOUR, "")],
    )


@pytest.fixture
def test_history(release, project):
    """Requirements R1..R3 in scope (R4 out), test cases TC1..TC5 with results around T0."""
    tc1, tc2, tc3, tc4, tc5 = (f.TestCaseFactory(project=project) for _ in range(5))
    r1, r2, r3, r4 = (f.RequirementFactory(project=project) for _ in range(4))
    for req in (r1, r2, r3):
        f.in_scope(req, release)
    f.cover(r1, tc1, tc2)
    f.cover(r2, tc3)
    f.cover(r4, tc1)
    # TC1: failed then passed on revision abc -> latest passed, flaky by revision.
    result(release, tc1, status="failed", at=T0 - 2 * DAY, revision="abc")
    result(release, tc1, status="passed", at=T0 - 1 * DAY, revision="abc")
    # TC2: passed; a failure after T0 must not be seen.
    result(release, tc2, status="passed", at=T0 - 1 * DAY, revision="abc")
    result(release, tc2, status="failed", at=T0 + HOUR, revision="abc")
    # TC3: skipped -> not executed, and R2 is not verified.
    result(release, tc3, status="skipped", at=T0 - 1 * DAY)
    # TC4: error, flagged flaky by a retry in its report.
    result(release, tc4, status="error", at=T0 - 1 * DAY, flaky=True)
    # TC5: two results with the same finished_at: the greater id (blocked) is the latest.
    result(release, tc5, status="passed", at=T0 - 1 * DAY)
    result(release, tc5, status="blocked", at=T0 - 1 * DAY)
    # A result of another release never counts.
    other = f.ReleaseFactory(project=project)
    result(other, tc3, status="passed", at=T0 - DAY)


def values(release):
    return compute_for_release(release=release, as_of=T0)


def test_defect_counts_follow_state_as_of_t(defect_history, release):
    r = values(release)
    # open as of T0: only B (A closed, C/D/F resolved, E not yet created); n = A,B,C,D,F
    assert (r["open_defects"].value, r["open_defects"].n) == (1, 5)
    # B is a blocker
    assert r["blocking_open_defects"].value == 1
    # arrivals in (T0-7d, T0]: B (-3d), C (-6d), D (-2d) = 3
    assert r["defect_arrivals_7d"].value == 3
    # closures: A resolved -5d (from reopened), C -5d, D -1d = 3; A closed -4d moves between resolved states
    assert r["defect_closures_7d"].value == 3
    # net = 3 - 3
    assert r["defect_net_flow_7d"].value == 0


def test_reopen_rate_counts_reopen_cycles_once_and_excludes_duplicates(defect_history, release):
    r = values(release)["reopen_rate"]
    # valid: A, B, D, F (C is a duplicate). Resolved at least once by T0: A, D, F -> D = 3.
    # reopened by T0: A (F's reopen is after T0) -> Rd = 1. 100 * 1 / 3 = 33.33
    assert (r.value, r.n) == (33.33, 3)


def test_defect_mttr_sums_open_intervals_including_reopen(defect_history, release):
    r = values(release)["defect_mttr_hours"]
    # fixed and resolved as of T0: A 72h, D 24h, F 120h -> mean 216 / 3 = 72
    assert (r.value, r.n) == (72.0, 3)
    # median of [24, 72, 120] = 72; p90: position 0.9 * 2 = 1.8 -> 72 + 0.8 * (120 - 72) = 110.4
    assert r.details["median"] == 72.0
    assert r.details["p90"] == pytest.approx(110.4, abs=0.01)


def test_defect_leakage_counts_valid_production_defects(defect_history, release):
    r = values(release)["defect_leakage"]
    # valid: A test, B production, D staging, F development -> 1 escaped of 4 = 25%
    assert (r.value, r.n) == (25.0, 4)


def test_requirement_and_test_metrics(test_history, release):
    r = values(release)
    # R1 (TC1, TC2) and R2 (TC3) linked, R3 not: 2 / 3
    assert (r["requirement_coverage"].value, r["requirement_coverage"].n) == (66.67, 3)
    # R1: TC1 passed, TC2 passed (the later failure is after T0) -> verified; R2: TC3 skipped -> not: 1 / 3
    assert r["verified_requirements"].value == 33.33
    # latest: TC1 passed, TC2 passed, TC3 skipped (left out), TC4 error, TC5 blocked -> 2 / 4
    assert (r["test_pass_rate"].value, r["test_pass_rate"].n) == (50.0, 4)
    # flaky: TC1 (passed and failed on abc), TC4 (retry flag) over TC1..TC5 -> 2 / 5
    assert (r["flaky_test_rate"].value, r["flaky_test_rate"].n) == (40.0, 5)


def test_release_risk_score_explains_every_indicator(defect_history, test_history, release):
    r = values(release)["release_risk_score"]
    rows = {row["key"]: row for row in r.details["indicators"]}
    # blocking 1 -> warn 0.5*3; pass rate 50 -> fail 1*2; verified 33.33 -> fail 1*2; reopen 33.33 -> fail 1*1;
    # net flow 0 -> pass 0; flaky 40 -> fail 1*1. (1.5 + 2 + 2 + 1 + 0 + 1) / 10 = 75 -> critical
    assert r.value == 75.0
    assert r.details["band"] == "critical"
    assert rows["blocking_open_defects"]["class"] == "warn"
    assert rows["defect_net_flow_7d"]["class"] == "pass"
    assert rows["test_pass_rate"]["contribution"] == 20.0
    assert sum(row["contribution"] for row in rows.values()) == pytest.approx(75.0)


def test_empty_release_gives_null_rates_and_no_data_indicators(release):
    # given a release without defects, requirements or results
    r = values(release)
    # then every rate is null (no data), never 0
    for key in (
        "reopen_rate",
        "defect_mttr_hours",
        "defect_leakage",
        "requirement_coverage",
        "verified_requirements",
        "test_pass_rate",
        "flaky_test_rate",
    ):
        assert r[key].value is None, key
        assert r[key].n == 0
    # and the risk score counts the four null indicators as warns: (0.5*2 + 0.5*2 + 0.5 + 0.5) / 10 = 30
    risk = r["release_risk_score"]
    assert risk.value == 30.0
    assert risk.details["band"] == "medium"
    assert [row["class"] for row in risk.details["indicators"]].count("no_data") == 4


def test_project_policy_overrides_risk_thresholds(release, project):
    # given a policy that lets 3 blocking defects warn instead of fail
    project.metric_policy = {"risk": {"blocking_open_defects": {"warn": 3}}}
    project.save()
    for _ in range(3):
        defect(release, created=T0 - DAY, severity="critical")
    risk = values(release)["release_risk_score"]
    row = next(r for r in risk.details["indicators"] if r["key"] == "blocking_open_defects")
    # then 3 blocking defects are a warn under the project's policy (a fail under the default warn <= 2)
    assert (row["value"], row["class"]) == (3, "warn")


@pytest.mark.parametrize("key", RELEASE_KEYS)
def test_every_release_metric_has_n(release, key):
    assert isinstance(values(release)[key].n, int)


def test_runs_of_other_releases_do_not_leak_into_pass_rate(release, project):
    other = f.ReleaseFactory(project=project)
    case = f.TestCaseFactory(project=project)
    result(other, case, status="failed", at=T0 - DAY, run=f.TestRunFactory(release=other))
    assert values(release)["test_pass_rate"].value is None
