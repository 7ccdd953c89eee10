"""Outcomes of released releases and the calibration of the risk score against them (metrics.md, "Risk by change
class, and the economics of go/no-go"), in SQL, as of T.

Outcome of a released release R (window O = 30 days after its actual_release_date): bad when within O a hotfix
release pointing at R was released, or an incident attributed to R started, or a valid defect found in R in
production was created. Only releases whose window has closed by T count.

The score a release had at its release date is the newest stored `release_risk_score` snapshot of the release taken
as of an instant at or before its actual_release_date. Every recompute of a deployed release stores the snapshot
as of its release instant when there is none yet (metrics.services.snapshot_release_date_score), and
`manage.py backfill_release_scores` fills older releases from their history; a release without one is counted as
"unscored" and left out of the calibration, never given a made-up score.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from defects.asof import field_as_of
from defects.models import Defect, Environment
from incidents.models import Incident
from releases.models import DEPLOYED_RELEASE_STATUSES, Release

from .models import MetricSnapshot, Scope
from .policy import RISK_BANDS
from .release_metrics import defects_as_of, valid_q

OUTCOME_WINDOW = dt.timedelta(days=30)
# A band's rate is used (and the AUC computed) only from this many releases: below it, "not enough history yet".
MIN_N = 5
BANDS: tuple[str, ...] = (*(band for _, band in RISK_BANDS), "critical")


def _window_end():
    return ExpressionWrapper(OuterRef("actual_release_date") + OUTCOME_WINDOW, output_field=DateTimeField())


def _hotfix_released_in_window() -> Exists:
    """A hotfix release pointing at R, deployed within O."""
    return Exists(
        Release.objects.filter(
            hotfix_for=OuterRef("pk"),
            status__in=DEPLOYED_RELEASE_STATUSES,
            actual_release_date__gte=OuterRef("actual_release_date"),
            actual_release_date__lte=_window_end(),
        )
    )


def _incident_started_in_window() -> Exists:
    """An incident attributed to R that started within O."""
    return Exists(
        Incident.objects.filter(
            release=OuterRef("pk"),
            started_at__gte=OuterRef("actual_release_date"),
            started_at__lte=_window_end(),
        )
    )


def _escaped_defect_in_window(as_of: dt.datetime) -> Exists:
    """A valid defect (as of T) found in R in production (both fields as of T, replayed) created within O."""
    candidates = Defect.objects.filter(
        project_id=OuterRef("project_id"),
        created_at__gte=OuterRef("actual_release_date"),
        created_at__lte=_window_end(),
    ).annotate(
        environment_as_of=field_as_of("found_in_environment", as_of),
        release_version_as_of=field_as_of("found_in_release", as_of),
    )
    escaped = defects_as_of(candidates, as_of).filter(
        valid_q(), environment_as_of=Environment.PRODUCTION, release_version_as_of=OuterRef("version")
    )
    return Exists(escaped)


def _score_at_release() -> tuple[Subquery, Subquery]:
    """(value, as_of) of the newest risk-score snapshot of R taken as of an instant at or before its release."""
    snaps = MetricSnapshot.objects.filter(
        scope=Scope.RELEASE,
        release=OuterRef("pk"),
        key="release_risk_score",
        as_of__lte=OuterRef("actual_release_date"),
    ).order_by("-as_of", "-id")
    return (
        Subquery(snaps.values("value")[:1], output_field=FloatField()),
        Subquery(snaps.values("as_of")[:1], output_field=DateTimeField()),
    )


def band_case(field: str = "score") -> Case:
    """The risk band of a score in SQL: low < 25 <= medium < 50 <= high < 75 <= critical."""
    return Case(
        *(When(**{f"{field}__lt": upper}, then=Value(band)) for upper, band in RISK_BANDS),
        When(**{f"{field}__isnull": False}, then=Value("critical")),
        default=Value(None),
        output_field=CharField(),
    )


def release_outcomes(*, project, as_of: dt.datetime) -> QuerySet:
    """The project's released releases whose outcome window has closed by T, annotated with hotfix, incident,
    escaped (each a boolean), bad (1/0), score (the risk score at release date, null if never stored),
    score_as_of and band."""
    value, score_as_of = _score_at_release()
    hotfix, incident, escaped = (
        _hotfix_released_in_window(),
        _incident_started_in_window(),
        _escaped_defect_in_window(as_of),
    )
    return (
        Release.objects.filter(
            project=project,
            status__in=DEPLOYED_RELEASE_STATUSES,
            actual_release_date__isnull=False,
            actual_release_date__lte=as_of - OUTCOME_WINDOW,
        )
        .annotate(hotfix=hotfix, incident=incident, escaped=escaped, score=value, score_as_of=score_as_of)
        .annotate(
            bad=Case(
                When(Q(hotfix=True) | Q(incident=True) | Q(escaped=True), then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
            band=band_case("score"),
        )
    )


def outcome_rows(*, project, as_of: dt.datetime) -> list[dict[str, Any]]:
    """One dict per release of release_outcomes (oldest release first): the list behind the calibration table."""
    rows = release_outcomes(project=project, as_of=as_of).order_by("actual_release_date", "id")
    return [
        {
            "release": r["id"],
            "version": r["version"],
            "change_class": r["change_class"],
            "released_at": r["actual_release_date"].isoformat(),
            "score": r["score"],
            "score_as_of": r["score_as_of"].isoformat() if r["score_as_of"] else None,
            "band": r["band"],
            "bad": bool(r["bad"]),
            "hotfix": r["hotfix"],
            "incident": r["incident"],
            "escaped_defect": r["escaped"],
        }
        for r in rows.values(
            "id",
            "version",
            "change_class",
            "actual_release_date",
            "score",
            "score_as_of",
            "band",
            "bad",
            "hotfix",
            "incident",
            "escaped",
        )
    ]


def _rate(bad: int, n: int) -> float | None:
    return round(bad / n, 4) if n else None


def auc_of(outcomes: QuerySet, *, n_bad: int, n_good: int) -> float | None:
    """The AUC of the score against the outcome over the scored releases (n_bad bad, n_good good, as counted by
    the caller): the share of (bad, good) pairs in which the bad release scored higher, a tie counting one half;
    null with fewer than MIN_N of either.

    Counted in SQL over the pairs of one self-join (releases are few: a project releases tens a year)."""
    if n_bad < MIN_N or n_good < MIN_N:
        return None
    scored = outcomes.filter(score__isnull=False)
    sql, params = scored.values("id", "score", "bad").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            # The inner SQL is the ORM's own; every value is a parameter.
            "SELECT SUM(CASE WHEN b.score > g.score THEN 1.0 WHEN b.score = g.score THEN 0.5 ELSE 0.0 END) "  # noqa: S608
            f"FROM ({sql}) b JOIN ({sql}) g ON b.bad = 1 AND g.bad = 0",
            [*params, *params],
        )
        (wins,) = cursor.fetchone()
    return round(float(wins or 0) / (n_bad * n_good), 4)


def calibration(*, project, as_of: dt.datetime) -> dict[str, Any]:
    """The calibration of the risk score for the project as of T (metrics.md): per band n (scored released releases
    whose window has closed), bad and rate = bad/n; overall n, bad, rate; the AUC (null with fewer than MIN_N
    releases of either outcome); the count of released releases without a stored score at release date.

    A band's rate is the plain bad/n; `enough` says whether n reaches MIN_N, the least the economics use. One
    query, two when there is enough history for the AUC, whatever the number of releases."""
    outcomes = release_outcomes(project=project, as_of=as_of)
    per_band = {
        row["band"]: row
        for row in outcomes.order_by()
        .values("band")
        .annotate(n=Count("pk"), bad_n=Count("pk", filter=Q(bad=1)))
        .values("band", "n", "bad_n")
    }
    unscored = per_band.pop(None, {"n": 0})["n"]
    bands = []
    for band in BANDS:
        row = per_band.get(band, {"n": 0, "bad_n": 0})
        bands.append(
            {
                "band": band,
                "n": row["n"],
                "bad": row["bad_n"],
                "rate": _rate(row["bad_n"], row["n"]),
                "enough": row["n"] >= MIN_N,
            }
        )
    n = sum(b["n"] for b in bands)
    bad = sum(b["bad"] for b in bands)
    n_bad, n_good = bad, n - bad
    auc = auc_of(outcomes, n_bad=n_bad, n_good=n_good)
    return {
        "as_of": as_of.isoformat(),
        "window_days": OUTCOME_WINDOW.days,
        "min_n": MIN_N,
        "bands": bands,
        "overall": {"n": n, "bad": bad, "rate": _rate(bad, n), "enough": n >= MIN_N},
        "auc": auc,
        "auc_counts": {"bad": n_bad, "good": n_good},
        "unscored": unscored,
        "enough_history": n_bad >= MIN_N and n_good >= MIN_N,
    }


def band_rate(cal: dict[str, Any], band: str | None) -> tuple[float | None, str | None, int]:
    """(rate, source, n) the economics use for a band: the band's own bad/n where it holds at least MIN_N
    releases ("band"), else the project's overall bad/n where that rests on at least MIN_N ("overall"), else
    (None, None, n): not shown. The rate is the exact fraction (the table shows it rounded)."""
    row = next((b for b in cal["bands"] if b["band"] == band), None)
    if row is not None and row["n"] >= MIN_N:
        return row["bad"] / row["n"], "band", row["n"]
    overall = cal["overall"]
    if overall["n"] >= MIN_N:
        return overall["bad"] / overall["n"], "overall", overall["n"]
    return None, None, overall["n"]
