"""Reads about gates: live status per release, evaluation history and diffs, decisions, waivers, audit log."""

import datetime as dt

from django.db.models import F, Prefetch, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from defects.models import BLOCKING_SEVERITIES, OPEN_STATUSES, Defect
from metrics import registry as metric_registry
from metrics import services as metric_services
from metrics.risk_selectors import release_economics
from qualitygov.selectors import filter_given
from releases.models import ACTIVE_RELEASE_STATUSES, NEXT_STATUS, Membership, Project, Release
from releases.selectors import get_for_user, project_list_for_user, visible_to
from testing.models import Requirement, TestResult

from . import standing
from .models import (
    AuditEvent,
    ChecklistItem,
    ChecklistSignoff,
    Decision,
    EvaluationStatus,
    GateCondition,
    GateEvaluation,
    QualityGate,
    Waiver,
)
from .verdicts import current_gates_by_release, verdict_of

STATUS_RANK = {EvaluationStatus.PASSED: 0, EvaluationStatus.WARNED: 1, EvaluationStatus.FAILED: 2}


def latest_evaluations(*, release_ids, gate_ids=None) -> list[GateEvaluation]:
    """The latest evaluation of each active gate for each of the releases, in one query."""
    release_ids = list(release_ids)
    if not release_ids:
        return []
    ranked = GateEvaluation.objects.filter(release_id__in=release_ids, gate__is_active=True)
    if gate_ids is not None:
        ranked = ranked.filter(gate_id__in=list(gate_ids))
    ranked = (
        ranked.select_related("gate", "requested_by")
        .annotate(
            rank=Window(
                expression=RowNumber(),
                partition_by=[F("gate_id"), F("release_id")],
                order_by=[F("created_at").desc(), F("id").desc()],
            )
        )
        .filter(rank=1)
        .order_by("release_id", "gate__order", "gate_id")
    )
    return list(ranked)


def gate_status_by_release(*, releases) -> dict[int, dict]:
    """Each release's standing at its current gates (those guarding its next move; metrics.md "Gates guard release
    transitions"): the worst status of their latest evaluations, stale marks and the decisions in force. See
    ``gates.standing.summary`` for the shape. A fixed number of queries whatever the number of releases."""
    return standing.summaries_by_release(releases=releases)


def expired_waivers(*, project: Project | None = None, release: Release | None = None) -> QuerySet[Waiver]:
    """Waivers past their expiry date (UTC today) whose decision is still in force (not superseded)."""
    qs = Waiver.objects.filter(expires__lt=timezone.now().date(), decision__superseded_by__isnull=True)
    if project is not None:
        qs = qs.filter(decision__release__project=project)
    if release is not None:
        qs = qs.filter(decision__release=release)
    return qs.select_related("decision__release__project", "decision__gate", "owner").order_by(
        "expires", "id"
    )


def gate_list(*, project: Project) -> QuerySet[QualityGate]:
    """A project's gates with conditions and checklist items prefetched (three queries)."""
    return (
        QualityGate.objects.filter(project=project)
        .prefetch_related(
            Prefetch("conditions", queryset=GateCondition.objects.order_by("order", "id")),
            Prefetch("checklist_items", queryset=ChecklistItem.objects.order_by("order", "id")),
        )
        .order_by("order", "id")
    )


def gate_list_for_user(*, user) -> QuerySet[QualityGate]:
    """Gates of every project the user is a member of (all for superusers), children prefetched."""
    qs = QualityGate.objects.select_related("project").prefetch_related(
        Prefetch("conditions", queryset=GateCondition.objects.order_by("order", "id")),
        Prefetch("checklist_items", queryset=ChecklistItem.objects.order_by("order", "id")),
    )
    return visible_to(qs, user=user).order_by("project__key", "order", "id")


def evaluation_history(*, gate: QualityGate, release: Release, limit: int = 20) -> list[GateEvaluation]:
    return list(
        GateEvaluation.objects.filter(gate=gate, release=release)
        .select_related("requested_by")
        .order_by("-created_at", "-id")[:limit]
    )


def evaluation_previous(*, evaluation: GateEvaluation) -> GateEvaluation | None:
    """The evaluation of the same gate and release just before this one."""
    return (
        GateEvaluation.objects.filter(gate_id=evaluation.gate_id, release_id=evaluation.release_id)
        .filter(
            Q(created_at__lt=evaluation.created_at)
            | Q(created_at=evaluation.created_at, id__lt=evaluation.pk)
        )
        .order_by("-created_at", "-id")
        .first()
    )


def evaluation_diff(*, evaluation: GateEvaluation, previous: GateEvaluation | None) -> dict:
    """What changed since the previous evaluation of the same gate and release.

    Returns {"previous": id | None, "status_changed": (old, new) | None, "flipped": [{metric/text, from, to}],
    "moved": [{metric, from, to, delta}], "added": [...], "removed": [...]}, matching conditions by id
    (and by metric + operator when the gate was edited in between) and checklist items by id.
    """
    out = {"previous": None, "status_changed": None, "flipped": [], "moved": [], "added": [], "removed": []}
    if previous is None:
        return out
    out["previous"] = previous.pk
    if previous.status != evaluation.status:
        out["status_changed"] = (previous.status, evaluation.status)

    def ckey(row):
        return ("c", row["condition"])

    old_rows = {ckey(r): r for r in previous.conditions}
    old_by_metric = {(r["metric"], r["operator"]): r for r in previous.conditions}
    for row in evaluation.conditions:
        old = old_rows.pop(ckey(row), None)
        if old is None:
            old = old_by_metric.get((row["metric"], row["operator"]))
            if old is not None:
                old_rows.pop(ckey(old), None)
        if old is None:
            out["added"].append(row["metric"])
            continue
        if old["outcome"] != row["outcome"]:
            out["flipped"].append({"subject": row["metric"], "from": old["outcome"], "to": row["outcome"]})
        if old.get("value") != row.get("value"):
            delta = (
                round(row["value"] - old["value"], 4)
                if row.get("value") is not None and old.get("value") is not None
                else None
            )
            out["moved"].append(
                {"metric": row["metric"], "from": old.get("value"), "to": row.get("value"), "delta": delta}
            )
    out["removed"] += [r["metric"] for r in old_rows.values()]
    old_items = {r["item"]: r for r in previous.checklist}
    for row in evaluation.checklist:
        old = old_items.pop(row["item"], None)
        if old is None:
            out["added"].append(row["text"])
        elif old["outcome"] != row["outcome"]:
            out["flipped"].append({"subject": row["text"], "from": old["outcome"], "to": row["outcome"]})
    out["removed"] += [r["text"] for r in old_items.values()]
    return out


def signoffs_for_release(*, release: Release, gate_ids=None) -> QuerySet[ChecklistSignoff]:
    """Every sign-off (live and revoked) of the release, newest first, users joined."""
    qs = ChecklistSignoff.objects.filter(release=release).select_related("signed_by", "revoked_by", "item")
    if gate_ids is not None:
        qs = qs.filter(item__gate_id__in=list(gate_ids))
    return qs.order_by("-signed_at", "-id")


def decisions_for_release(*, release: Release) -> QuerySet[Decision]:
    return (
        Decision.objects.filter(release=release)
        .select_related("gate", "decided_by", "evaluation", "supersedes", "suspension")
        .prefetch_related(Prefetch("waivers", queryset=Waiver.objects.select_related("owner")))
        .order_by("-decided_at", "-id")
    )


def decision_list(
    *, user, project: Project | None = None, release_id=None, gate_id=None
) -> QuerySet[Decision]:
    qs = Decision.objects.select_related(
        "gate", "decided_by", "release__project", "evaluation", "suspension"
    ).prefetch_related(Prefetch("waivers", queryset=Waiver.objects.select_related("owner")))
    qs = visible_to(qs, user=user, project="release__project")
    if project is not None:
        qs = qs.filter(release__project=project)
    qs = filter_given(qs, release_id=release_id, gate_id=gate_id)
    return qs.order_by("-decided_at", "-id")


def audit_events(
    *,
    project: Project,
    action: str = "",
    actor: str = "",
    release_id=None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    q: str = "",
) -> QuerySet[AuditEvent]:
    """The project's audit log, newest first, filtered by action (prefix), actor username, release, dates, text."""
    qs = AuditEvent.objects.filter(project=project).select_related("actor", "release")
    qs = filter_given(qs, action__startswith=action, actor__username=actor, release_id=release_id)
    if since:
        qs = qs.filter(at__gte=dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC))
    if until:
        qs = qs.filter(at__lt=dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC))
    return filter_given(qs, summary__icontains=q).order_by("-at", "-id")


def open_blocking_defects(*, release: Release, limit: int = 50) -> list:
    """Open blocker/critical defects found in the release, worst first (one query)."""
    return list(
        Defect.objects.filter(
            found_in_release=release, status__in=OPEN_STATUSES, severity__in=BLOCKING_SEVERITIES
        )
        .select_related("assignee")
        .order_by("severity", "created_at", "id")[:limit]
    )


def requirement_status(*, release: Release) -> list[dict]:
    """Each requirement in the release's scope with why it is or is not verified (contract:
    `verified_requirements`): linked test cases, those without a latest result in the release, those whose
    latest result is not `passed`. Three queries whatever the size.
    """
    latest = dict(
        TestResult.objects.filter(release=release)
        .annotate(
            rank=Window(
                expression=RowNumber(),
                partition_by=[F("test_case_id")],
                order_by=[F("finished_at").desc(), F("id").desc()],
            )
        )
        .filter(rank=1)
        .values_list("test_case_id", "status")
    )
    rows = []
    for req in Requirement.objects.filter(releases=release).prefetch_related("test_cases").order_by("key"):
        cases = list(req.test_cases.all())
        not_run = [c for c in cases if c.pk not in latest]
        failing = [(c, latest[c.pk]) for c in cases if c.pk in latest and latest[c.pk] != "passed"]
        rows.append(
            {
                "requirement": req,
                "cases": len(cases),
                "not_run": not_run,
                "failing": failing,
                "verified": bool(cases) and not not_run and not failing,
            }
        )
    return rows


def release_decisions_current(*, release: Release) -> list[Decision]:
    """The decisions in force for the release (one per gate: those not superseded), with waivers."""
    return list(decisions_for_release(release=release).filter(superseded_by__isnull=True))


def scheduled_gate_pairs() -> list[tuple[QualityGate, Release]]:
    """Every (scheduled gate, release) pair where the gate is one of the release's current gates (it guards the
    release's next move), for every release that has a next move, in gate order."""
    releases = list(Release.objects.filter(status__in=NEXT_STATUS.keys()).select_related("project"))
    current = current_gates_by_release(releases=releases)
    return [
        (gate, release) for release in releases for gate in current[release.pk] if gate.evaluate_on_schedule
    ]


def evaluation_get(*, pk: int | None) -> GateEvaluation | None:
    """An evaluation by id, or None (the decision service refuses one of another gate or release)."""
    return GateEvaluation.objects.filter(pk=pk).first() if pk else None


def release_evidence(*, release: Release) -> dict:
    """What a decision and the readiness report show beside the gates: the risk score and the economics of going
    now or postponing, requirement coverage and verification (fresh values, nothing stored), the measures (coverage, findings, load tests, custom keys) with
    their units, open blocking defects and each requirement's status."""
    definitions = metric_registry.definitions_for(release.project)
    measure_keys = list(metric_registry.MEASURE_KEYS) + [
        k for k in definitions if k not in metric_registry.REGISTRY
    ]
    values = metric_services.compute_for_release(
        release=release,
        keys=["release_risk_score", "requirement_coverage", "verified_requirements", *measure_keys],
    )
    requirements = requirement_status(release=release)
    risk = values.get("release_risk_score")
    return {
        # The economics of go/no-go on the same fresh score (metrics.md, "the economics of go/no-go").
        "economics": release_economics(release=release, score=getattr(risk, "value", None)),
        "measures": [
            {"key": k, "label": definitions[k].label, "unit": definitions[k].unit, "value": values[k].value}
            for k in measure_keys
            if k in values
        ],
        "risk": values.get("release_risk_score"),
        "coverage": values.get("requirement_coverage"),
        "verified": values.get("verified_requirements"),
        "blockers": open_blocking_defects(release=release),
        "requirements": requirements,
        "unverified": [r for r in requirements if not r["verified"]],
    }


def decision_page(*, release: Release, gate: QualityGate) -> dict:
    """The reads of the decision page: the gate's latest evaluation for the release, the release's evidence,
    the project's members (waiver owners) and the gate's last 20 decisions for the release."""
    latest = (latest_evaluations(release_ids=[release.pk], gate_ids=[gate.pk]) or [None])[0]
    members = (
        Membership.objects.filter(project=release.project).select_related("user").order_by("user__username")
    )
    return {
        "evaluation": latest,
        **release_evidence(release=release),
        "members": [m.user for m in members],
        "history": decisions_for_release(release=release).filter(gate=gate)[:20],
    }


def readiness_report(*, release: Release) -> dict:
    """The reads of the readiness report: the current gates (guarding the release's next move) with their latest
    evaluation, stale mark and decision state; the other stages' gates as history; the latest decisions with how
    each stands (in force, no-go, suspended and why), expired waivers still in force, and the release's evidence."""
    gates = list(gate_list(project=release.project).filter(is_active=True))
    latest = {e.gate_id: e for e in latest_evaluations(release_ids=[release.pk])}
    standings = standing.standings_by_release(releases=[release])[release.pk]
    current_ids = {s.gate.pk for s in standings}
    decisions = release_decisions_current(release=release)
    today = timezone.now().date()
    for d in decisions:
        d.verdict = verdict_of(gate=d.gate, decision=d, today=today)
    return {
        "current": standings,
        "move": standing.next_move_label(release),
        "rows": [{"gate": g, "evaluation": latest.get(g.pk)} for g in gates if g.pk not in current_ids],
        "decisions": decisions,
        "deciders": sorted({d.decided_by.get_full_name() or d.decided_by.get_username() for d in decisions}),
        "expired": list(expired_waivers(release=release)),
        **release_evidence(release=release),
    }


def gate_index(*, user, project_key: str = "") -> list[Project]:
    """The projects the user is a member of (or the one named), each with its gates (conditions and items
    prefetched), its active releases as ``active_releases``, and each of those with its ``gate_status``."""
    visible = project_list_for_user(user=user)
    if project_key:
        visible = visible.filter(key=project_key)
    projects = list(
        visible.prefetch_related(
            Prefetch(
                "gates",
                queryset=QualityGate.objects.order_by("order", "id").prefetch_related(
                    Prefetch("conditions", queryset=GateCondition.objects.order_by("order", "id")),
                    Prefetch("checklist_items", queryset=ChecklistItem.objects.order_by("order", "id")),
                ),
            ),
            Prefetch(
                "releases",
                queryset=Release.objects.filter(status__in=ACTIVE_RELEASE_STATUSES).order_by("-created_at"),
                to_attr="active_releases",
            ),
        )
    )
    status = gate_status_by_release(releases=[r for p in projects for r in p.active_releases])
    for p in projects:
        for r in p.active_releases:
            r.gate_status = status.get(r.pk)
    return projects


def waiver_list(
    *, project: Project, release_id: int | None = None, expired_only: bool = False
) -> QuerySet[Waiver]:
    """A project's waivers (soonest expiry first), or only the expired ones whose decision is in force."""
    if expired_only:
        qs = expired_waivers(project=project)
    else:
        qs = (
            Waiver.objects.filter(decision__release__project=project)
            .select_related("decision__release", "decision__gate", "owner")
            .order_by("expires", "id")
        )
    return qs if release_id is None else qs.filter(decision__release_id=release_id)


# --- One object, looked up for a user: 404 outside the projects they are a member of -------------------------


def gate_get_for_user(*, user, pk) -> QualityGate:
    return get_for_user(
        QualityGate.objects.select_related("project"), user=user, message="No such gate.", pk=pk
    )


def _of_gate_for_user(queryset: QuerySet, *, user, pk, message: str):
    """A row hanging off a gate (evaluation, checklist item), in the gate's project the user is a member of."""
    return get_for_user(
        queryset.select_related("gate__project"), user=user, project="gate__project", message=message, pk=pk
    )


def evaluation_get_for_user(*, user, pk) -> GateEvaluation:
    queryset = GateEvaluation.objects.select_related("release", "requested_by")
    return _of_gate_for_user(queryset, user=user, pk=pk, message="No such evaluation.")


def checklist_item_get_for_user(*, user, pk) -> ChecklistItem:
    return _of_gate_for_user(ChecklistItem.objects.all(), user=user, pk=pk, message="No such checklist item.")


def signoff_get_for_user(*, user, pk) -> ChecklistSignoff:
    return get_for_user(
        ChecklistSignoff.objects.select_related("item__gate__project", "release__project"),
        user=user,
        project="release__project",
        message="No such sign-off.",
        pk=pk,
    )
