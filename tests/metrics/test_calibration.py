"""Outcomes, calibration, AUC and the economics of go/no-go (metrics.md, "Risk by change class, and the economics of
go/no-go"), checked against hand arithmetic on hand-built release histories."""

import datetime as dt

import pytest

from defects.models import DefectFieldChange
from metrics.calibration import calibration, outcome_rows
from metrics.economics import economics
from metrics.models import MetricSnapshot, Scope
from metrics.policy import policy_for
from metrics.risk_selectors import release_economics
from metrics.services import backfill_release_scores, policy_update
from tests import factories as f

pytestmark = pytest.mark.django_db

T = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
COSTS = {"delay_cost_per_day": 1000, "hotfix_cost": 5000, "incident_cost": 20000, "currency": "EUR"}


def released(project, version, *, at, score=None, **extra):
    """A release deployed at `at`, with its risk score at release date stored as a snapshot (None: no snapshot)."""
    release = f.ReleaseFactory(
        project=project, version=version, status="released", actual_release_date=at, **extra
    )
    if score is not None:
        MetricSnapshot.objects.create(
            scope=Scope.RELEASE,
            project=project,
            release=release,
            key="release_risk_score",
            value=score,
            as_of=at,
        )
    return release


def make_bad(release):
    """A bad outcome: an incident attributed to the release, started a day after it went live."""
    f.IncidentFactory(project=release.project, release=release, started_at=release.actual_release_date + DAY)


def test_outcome_counts_hotfix_incident_and_escaped_defect_inside_the_30_day_window_only(project):
    # given releases released 60 days before T (their windows have closed) and one 20 days before (still open)
    base = T - 60 * DAY
    hot = released(project, "1.0", at=base, score=10)
    f.ReleaseFactory(
        project=project,
        version="1.0.1",
        change_class="hotfix",
        hotfix_for=hot,
        status="released",
        actual_release_date=base + 10 * DAY,
    )
    late_hot = released(project, "1.1", at=base, score=10)
    f.ReleaseFactory(
        project=project,
        version="1.1.1",
        change_class="hotfix",
        hotfix_for=late_hot,
        status="released",
        actual_release_date=base + 31 * DAY,  # outside the window: not this release's outcome
    )
    incident = released(project, "1.2", at=base, score=30)
    f.IncidentFactory(project=project, release=incident, started_at=base + 5 * DAY)
    escaped = released(project, "1.3", at=base, score=30)
    f.DefectFactory(
        project=project,
        found_in_release=escaped,
        found_in_environment="production",
        created_at=base + 29 * DAY,
    )
    duplicate = released(project, "1.4", at=base, score=30)
    f.DefectFactory(
        project=project,
        found_in_release=duplicate,
        found_in_environment="production",
        created_at=base + 2 * DAY,
        status="closed",
        resolution="duplicate",  # not a valid defect
    )
    staging = released(project, "1.5", at=base, score=30)
    f.DefectFactory(
        project=project, found_in_release=staging, found_in_environment="staging", created_at=base + 2 * DAY
    )
    released(project, "2.0", at=T - 20 * DAY, score=80)  # window still open at T
    # when the outcomes are read as of T
    rows = {r["version"]: r for r in outcome_rows(project=project, as_of=T)}
    # then each bad outcome is found for its reason, the late hotfix and the invalid/staging defects are not
    assert rows["1.0"]["bad"] and rows["1.0"]["hotfix"]
    assert not rows["1.1"]["bad"]
    assert rows["1.2"]["bad"] and rows["1.2"]["incident"]
    assert rows["1.3"]["bad"] and rows["1.3"]["escaped_defect"]
    assert not rows["1.4"]["bad"] and not rows["1.5"]["bad"]
    assert "2.0" not in rows
    # the hotfixes are released releases too (1.0.1 closed its window at T-20d; 1.1.1's is open at T)
    assert "1.0.1" in rows and "1.1.1" not in rows
    assert rows["1.0.1"]["score"] is None and rows["1.0.1"]["band"] is None


def test_outcome_replays_the_defect_fields_as_of_t(project):
    # given a release whose staging defect was re-filed as a production defect after T
    base = T - 60 * DAY
    release = released(project, "3.0", at=base, score=20)
    defect = f.DefectFactory(
        project=project,
        found_in_release=release,
        found_in_environment="production",
        created_at=base + 3 * DAY,
    )
    DefectFieldChange.objects.create(
        defect=defect, field="found_in_environment", old_value="staging", new_value="production", at=T + DAY
    )
    # then as of T the release was good, as of two days later it is bad: an edit never changes the past
    assert not outcome_rows(project=project, as_of=T)[0]["bad"]
    assert outcome_rows(project=project, as_of=T + 2 * DAY)[0]["bad"]


def history(project):
    """Eleven scored releases (5 bad, 6 good) and one without a score, all with closed windows at T.

    bad scores: 60, 40, 40, 20, 10; good scores: 40, 30, 20, 10, 10, 5."""
    base = T - 90 * DAY
    rows = [(60, True), (40, True), (40, True), (20, True), (10, True)]
    rows += [(40, False), (30, False), (20, False), (10, False), (10, False), (5, False)]
    for i, (score, bad) in enumerate(rows):
        release = released(project, f"4.{i}", at=base + i * DAY, score=score)
        # a later snapshot (after the release date) never replaces the score at release date
        MetricSnapshot.objects.create(
            scope=Scope.RELEASE,
            project=project,
            release=release,
            key="release_risk_score",
            value=99,
            as_of=release.actual_release_date + DAY,
        )
        if bad:
            make_bad(release)
    released(project, "4.99", at=base, score=None)


def test_calibration_table_and_auc_with_ties_match_hand_arithmetic(project, django_assert_max_num_queries):
    # given the hand-built history
    history(project)
    # when the calibration is read as of T
    with django_assert_max_num_queries(2):
        cal = calibration(project=project, as_of=T)
    bands = {b["band"]: b for b in cal["bands"]}
    # then per band: low (<25) 6 releases, 2 bad; medium 4, 2 bad; high 1, 1 bad; critical none
    assert (bands["low"]["n"], bands["low"]["bad"], bands["low"]["rate"]) == (6, 2, 0.3333)
    assert (bands["medium"]["n"], bands["medium"]["bad"], bands["medium"]["rate"]) == (4, 2, 0.5)
    assert not bands["medium"]["enough"] and bands["low"]["enough"]
    assert (bands["high"]["n"], bands["high"]["bad"]) == (1, 1)
    assert (bands["critical"]["n"], bands["critical"]["rate"]) == (0, None)
    assert cal["overall"] == {"n": 11, "bad": 5, "rate": 0.4545, "enough": True}
    assert cal["unscored"] == 1
    # and the AUC: of the 5 x 6 pairs, the bad release scores higher in 6 + 5.5 + 5.5 + 3.5 + 2 = 22.5 (ties
    # count one half): 22.5 / 30 = 0.75
    assert cal["auc"] == 0.75
    assert cal["auc_counts"] == {"bad": 5, "good": 6}


def test_auc_is_null_with_fewer_than_five_of_either_outcome(project):
    # given 4 bad and 6 good releases
    base = T - 90 * DAY
    for i in range(10):
        release = released(project, f"5.{i}", at=base + i * DAY, score=10 * i)
        if i < 4:
            make_bad(release)
    cal = calibration(project=project, as_of=T)
    # then no AUC, with the counts that fall short
    assert cal["auc"] is None and cal["auc_counts"] == {"bad": 4, "good": 6}
    assert not cal["enough_history"]


def test_economics_match_hand_arithmetic(project, admin):
    # given the hand-built history and the project's costs
    history(project)
    policy_update(project=project, data={"economics": COSTS}, by=admin)
    cal = calibration(project=project, as_of=T)
    policy = policy_for(project)
    # when a release in the medium band (n = 4 < 5, so p falls back to the overall rate 5/11) is priced
    out = economics(band="medium", score=40.0, calibration=cal, policy=policy)
    # then p = 5/11, p' = the low band's 2/6; failure cost 5000 + 20000 = 25000
    assert out["shown"] and out["p_source"] == "overall" and out["p_prime_source"] == "band"
    assert (out["p"], out["p_prime"]) == (0.4545, 0.3333)
    assert out["cost_go_now"] == round(5 / 11 * 25000, 2) == 11363.64
    assert [c["cost"] for c in out["cost_postpone"]] == [
        round(d * 1000 + 25000 / 3, 2) for d in (1, 3, 7, 14)
    ]
    assert [c["days"] for c in out["cost_postpone"]] == [1, 3, 7, 14]
    # d* = (5/11 - 1/3) * 25000 / 1000 = 4/33 * 25 = 3.03 days
    assert out["break_even_days"] == 3.03
    # and the calibration figures it rests on are part of the answer
    assert out["calibration"]["overall"]["n"] == 11
    # a release already in the low band: p = p', nothing to buy by waiting
    low = economics(band="low", score=10.0, calibration=cal, policy=policy)
    assert low["p"] == low["p_prime"] and low["break_even_days"] == 0


def test_economics_not_shown_without_costs_or_without_history(project, admin):
    # given four released releases only (fewer than 5): not enough history
    base = T - 90 * DAY
    for i in range(4):
        make_bad(released(project, f"6.{i}", at=base + i * DAY, score=60))
    cal = calibration(project=project, as_of=T)
    # when there are no costs: not shown, and no figure is given
    out = economics(band="high", score=60.0, calibration=cal, policy=policy_for(project))
    assert not out["shown"] and out["cost_go_now"] is None and "costs" in out["reason"]
    # when costs are set but history is short: "not enough history yet" with the counts
    policy_update(project=project, data={"economics": COSTS}, by=admin)
    out = economics(band="high", score=60.0, calibration=cal, policy=policy_for(project))
    assert not out["shown"] and out["cost_go_now"] is None and out["break_even_days"] is None
    assert out["reason"].startswith("Not enough history yet: 4 released release(s)")
    assert "(4 bad)" in out["reason"]


def test_release_economics_as_of_replays_calibration_and_policy(project, admin):
    # given the history, costs saved now, and a release being decided
    history(project)
    candidate = f.ReleaseFactory(project=project, version="7.0", status="ready")
    policy_update(project=project, data={"economics": COSTS}, by=admin)
    # when the economics are read as of T (before the costs were saved) and now
    before = release_economics(release=candidate, as_of=T, score=40.0)
    now = release_economics(release=candidate, score=40.0)
    # then as of T the costs did not exist yet (not shown); now they do, on the calibration as of now
    assert not before["shown"] and before["calibration"]["overall"]["n"] == 11
    assert now["shown"] and now["band"] == "medium"


def test_backfill_stores_the_score_at_release_date_once(project):
    # given a deployed release without a stored score
    release = f.ReleaseFactory(
        project=project, version="8.0", status="released", actual_release_date=T - 40 * DAY
    )
    # when the release-date scores are backfilled twice
    assert backfill_release_scores(project=project) == 1
    assert backfill_release_scores(project=project) == 0
    # then one snapshot as of the release instant exists, and the calibration counts the release as scored
    snap = MetricSnapshot.objects.get(release=release, key="release_risk_score")
    assert snap.as_of == release.actual_release_date and snap.value is not None
    assert calibration(project=project, as_of=T)["unscored"] == 0
