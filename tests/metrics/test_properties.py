"""Property-based checks (hypothesis) of the metric invariants over random defect histories."""

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defects.models import ALLOWED_TRANSITIONS, STATUSES_NEEDING_RESOLUTION, Defect, DefectTransition
from metrics.flow import defect_flow
from metrics.release_metrics import open_defects
from metrics.services import compute_for_release

from .histories import HOUR, T0, defect

pytestmark = pytest.mark.django_db

SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# A defect history: creation offset (hours before T0, may be after T0 when negative) and a walk of moves.
walk = st.lists(st.tuples(st.integers(0, 7), st.integers(1, 72)), max_size=6)
history = st.tuples(
    st.integers(-48, 24 * 20),
    st.sampled_from(["test", "production"]),
    st.sampled_from(["blocker", "major", "minor"]),
    walk,
    st.sampled_from(["fixed", "duplicate", "wont_fix"]),
)


def build(release, histories):
    Defect.objects.all().delete()
    for created_before, env, severity, steps, resolution in histories:
        created = T0 - created_before * HOUR
        moves, status, at = [], "new", created
        for choice, gap in steps:
            options = ALLOWED_TRANSITIONS[status]
            to = options[choice % len(options)]
            at = at + gap * HOUR
            moves.append(
                (
                    to,
                    at,
                    resolution
                    if to in STATUSES_NEEDING_RESOLUTION
                    else (
                        ""
                        if to in ("new", "triaged", "in_progress", "reopened")
                        else moves[-1][2]
                        if moves
                        else resolution
                    ),
                )
            )
            status = to
        defect(release, created=created, moves=moves, severity=severity, env=env)


@SETTINGS
@given(st.lists(history, max_size=8))
def test_rates_stay_within_0_and_100(release, histories):
    build(release, histories)
    results = compute_for_release(release=release, as_of=T0)
    for key in (
        "reopen_rate",
        "defect_leakage",
        "test_pass_rate",
        "flaky_test_rate",
        "requirement_coverage",
        "verified_requirements",
        "release_risk_score",
    ):
        value = results[key].value
        assert value is None or 0 <= value <= 100, (key, value)
    assert results["defect_mttr_hours"].value is None or results["defect_mttr_hours"].value >= 0


@SETTINGS
@given(st.lists(history, max_size=8))
def test_arrivals_minus_closures_plus_reopens_equals_backlog_change(release, histories):
    build(release, histories)
    results = compute_for_release(release=release, as_of=T0)
    before = open_defects(release=release, as_of=T0 - dt.timedelta(days=7)).value
    after = results["open_defects"].value
    reopens = DefectTransition.objects.filter(
        defect__found_in_release=release, to_status="reopened", at__gt=T0 - dt.timedelta(days=7), at__lte=T0
    ).count()
    assert results["defect_net_flow_7d"].value + reopens == after - before
    if reopens == 0:
        assert results["defect_arrivals_7d"].value - results["defect_closures_7d"].value == after - before


@SETTINGS
@given(st.lists(history, max_size=8))
def test_defect_flow_buckets_add_up_to_the_backlog_change(release, histories):
    build(release, histories)
    start = T0 - dt.timedelta(days=10)
    buckets = defect_flow(release=release, start=start, end=T0, bucket="day")
    initial = open_defects(release=release, as_of=start).value
    moved = sum(b["opened"] + b["reopened"] - b["closed"] for b in buckets)
    assert initial + moved == buckets[-1]["backlog"] == open_defects(release=release, as_of=T0).value


@SETTINGS
@given(st.lists(history, max_size=6), st.lists(history, min_size=1, max_size=4))
def test_as_of_never_sees_the_future(release, histories, future):
    build(release, histories)
    before = {k: (r.value, r.n) for k, r in compute_for_release(release=release, as_of=T0).items()}
    # when more happens strictly after T0 (defects created and moved later)
    for created_before, env, severity, steps, _ in future:
        later = T0 + (abs(created_before) + 1) * HOUR
        defect(
            release,
            created=later,
            severity=severity,
            env=env,
            moves=[("resolved", later + HOUR, "fixed")] if steps else (),
        )
    for d in Defect.objects.filter(created_at__lte=T0, status__in=("resolved", "verified", "closed")):
        DefectTransition.objects.create(defect=d, from_status=d.status, to_status="reopened", at=T0 + HOUR)
    after = {k: (r.value, r.n) for k, r in compute_for_release(release=release, as_of=T0).items()}
    # then every value as of T0 is unchanged
    assert after == before
