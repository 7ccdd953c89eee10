"""Project metrics of the contract (scope: one project, trailing window W = policy window_days, as of T)."""

import datetime as dt

from django.db.models import Avg, Count, DateTimeField, Exists, F, Min, OuterRef, Q, Sum, Value

from defects.asof import with_fields_as_of
from defects.models import Defect
from incidents.models import Incident
from releases.models import Release

from .policy import policy_for
from .release_metrics import defects_as_of, leakage_of, reopen_rate_of
from .results import MetricResult
from .sql import PercentileCont, SecondsBetween, is_postgres, percentile_cont


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(float(seconds) / 3600.0, 2)


def mttr_hours(*, project, as_of: dt.datetime, window_days: int | None = None) -> MetricResult:
    """Mean time to restore: mean of restored_at - started_at over incidents restored in W. Report median, p90, n,
    open incidents and the age of the oldest open one beside it: open incidents never silently vanish."""
    window_days = window_days or policy_for(project, as_of=as_of)["window_days"]
    incidents = Incident.objects.filter(project=project, started_at__lte=as_of)
    restored = incidents.filter(
        restored_at__gt=as_of - dt.timedelta(days=window_days), restored_at__lte=as_of
    )
    duration = SecondsBetween(F("restored_at"), F("started_at"))
    if is_postgres():
        agg = restored.aggregate(
            n=Count("pk"),
            mean=Avg(duration),
            median=PercentileCont(duration, fraction=0.5),
            p90=PercentileCont(duration, fraction=0.9),
        )
    else:
        seconds = list(restored.annotate(seconds=duration).values_list("seconds", flat=True))
        agg = {
            "n": len(seconds),
            "mean": sum(seconds) / len(seconds) if seconds else None,
            "median": percentile_cont(seconds, 0.5),
            "p90": percentile_cont(seconds, 0.9),
        }
    open_now = incidents.filter(Q(restored_at__isnull=True) | Q(restored_at__gt=as_of)).aggregate(
        count=Count("pk"), oldest=Min("started_at")
    )
    oldest_age = (as_of - open_now["oldest"]).total_seconds() if open_now["oldest"] else None
    return MetricResult(
        "mttr_hours",
        _hours(agg["mean"]),
        agg["n"],
        "hours",
        {
            "median": _hours(agg["median"]),
            "p90": _hours(agg["p90"]),
            "open_incidents": open_now["count"],
            "oldest_open_age_hours": _hours(oldest_age),
            "window_days": window_days,
        },
    )


def change_failure_rate(*, project, as_of: dt.datetime, window_days: int | None = None) -> MetricResult:
    """Releases deployed to production in W that have at least one attributed incident or hotfix release, over
    releases deployed in W; null if none deployed. Incidents count when started by T, hotfixes when created by T."""
    window_days = window_days or policy_for(project, as_of=as_of)["window_days"]
    incident = Exists(Incident.objects.filter(release=OuterRef("pk"), started_at__lte=as_of))
    hotfix = Exists(Release.objects.filter(hotfix_for=OuterRef("pk"), created_at__lte=as_of))
    counts = (
        Release.objects.filter(
            project=project,
            actual_release_date__gt=as_of - dt.timedelta(days=window_days),
            actual_release_date__lte=as_of,
        )
        .annotate(had_incident=incident, had_hotfix=hotfix)
        .aggregate(deployed=Count("pk"), failed=Count("pk", filter=Q(had_incident=True) | Q(had_hotfix=True)))
    )
    value = round(100.0 * counts["failed"] / counts["deployed"], 2) if counts["deployed"] else None
    return MetricResult(
        "change_failure_rate",
        value,
        counts["deployed"],
        "%",
        {"failed": counts["failed"], "window_days": window_days},
    )


def window_defects(*, project, as_of: dt.datetime, window_days: int):
    """The project's defects created in (T-W, T], with their state, resolution and fields as of T."""
    return defects_as_of(
        with_fields_as_of(
            Defect.objects.filter(project=project, created_at__gt=as_of - dt.timedelta(days=window_days)),
            as_of,
        ),
        as_of,
    )


def stability_index(
    *, project, as_of: dt.datetime, cfr: MetricResult | None = None, mttr: MetricResult | None = None
) -> MetricResult:
    """100 * (0.4*(1-CFR) + 0.3*(1-leakage) + 0.15*(1-reopen) + 0.15*restore), each rate as a fraction over W;
    restore = min(1, target_mttr/mttr), 1 with no incidents, where open incidents count with their age so far
    (T - started_at), so an ongoing outage lowers the index; weights and target_mttr are per-project policy.
    A missing part is left out and the weights renormalised; all missing = null.

    Leakage and reopen over W are taken over the project's defects created in W.
    """
    policy = policy_for(project, as_of=as_of)
    window = policy["window_days"]
    cfr = cfr or change_failure_rate(project=project, as_of=as_of, window_days=window)
    mttr = mttr or mttr_hours(project=project, as_of=as_of, window_days=window)
    defects = window_defects(project=project, as_of=as_of, window_days=window)
    leakage, leakage_n, _ = leakage_of(defects)
    reopen, reopen_n, _ = reopen_rate_of(defects, as_of)
    # Time to restore for the index: incidents restored in W with their duration, and open incidents with their
    # age so far (T - started_at), so an ongoing outage lowers the index instead of vanishing from it.
    open_ages = (
        Incident.objects.filter(project=project, started_at__lte=as_of)
        .filter(Q(restored_at__isnull=True) | Q(restored_at__gt=as_of))
        .aggregate(
            n=Count("pk"),
            seconds=Sum(SecondsBetween(Value(as_of, output_field=DateTimeField()), F("started_at"))),
        )
    )
    count = mttr.n + open_ages["n"]
    if count == 0:
        restore = 1.0  # no incidents: full marks
    else:
        hours = ((mttr.value or 0.0) * mttr.n + (open_ages["seconds"] or 0.0) / 3600.0) / count
        restore = 1.0 if hours <= 0 else min(1.0, policy["target_mttr_hours"] / hours)
    parts = {
        "cfr": None if cfr.value is None else 1 - cfr.value / 100.0,
        "leakage": None if leakage is None else 1 - leakage / 100.0,
        "reopen": None if reopen is None else 1 - reopen / 100.0,
        "restore": restore,
    }
    weights = policy["stability_weights"]
    present = {name: score for name, score in parts.items() if score is not None and weights[name] > 0}
    total_weight = sum(weights[name] for name in present)
    value = (
        round(100.0 * sum(weights[name] * score for name, score in present.items()) / total_weight, 2)
        if total_weight
        else None
    )
    return MetricResult(
        "stability_index",
        value,
        cfr.n + leakage_n + reopen_n + mttr.n,
        "0-100",
        {
            "parts": {name: (None if score is None else round(score, 4)) for name, score in parts.items()},
            "weights": weights,
            "window_days": window,
            "target_mttr_hours": policy["target_mttr_hours"],
        },
    )


def project_metrics(*, project, as_of: dt.datetime, keys=None) -> dict[str, MetricResult]:
    """Every project-scope scalar metric (or just `keys`) for the project as of T."""
    wanted = set(keys) if keys else {"mttr_hours", "change_failure_rate", "stability_index"}
    results: dict[str, MetricResult] = {}
    window = policy_for(project, as_of=as_of)["window_days"]
    mttr = mttr_hours(project=project, as_of=as_of, window_days=window)
    cfr = change_failure_rate(project=project, as_of=as_of, window_days=window)
    if "mttr_hours" in wanted:
        results["mttr_hours"] = mttr
    if "change_failure_rate" in wanted:
        results["change_failure_rate"] = cfr
    if "stability_index" in wanted:
        results["stability_index"] = stability_index(project=project, as_of=as_of, cfr=cfr, mttr=mttr)
    return results
