"""Pages for gates: gate list and editor, a release's gates, evaluation detail, decision, readiness report, audit log.

Views parse input, call one service or selector, and render. Rules and permissions are enforced in services;
the pages only hide buttons a user cannot use.
"""

import datetime as dt

from django.contrib import messages
from django.forms.models import model_to_dict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from qualitygov.errors import AccessDenied, DomainError
from qualitygov.pages import refusal_as_message
from releases.access import Action, can, require, role_of
from releases.models import Project, Release
from releases.selectors import project_get_for_user, release_get_for_user

from . import selectors, services
from .forms import (
    ChecklistItemFormSet,
    ConditionFormSet,
    DecisionForm,
    GateForm,
    RevokeForm,
    SignoffForm,
    format_class_thresholds,
    formset_rows,
)
from .models import ChecklistItem, GateEvaluation, QualityGate
from .services.evaluation import release_watermark
from .standing import new_decision_must_cover, next_move_label
from .verdicts import evaluation_is_stale, verdicts_for


def _release(pk: int, user) -> Release:
    """The release if the user is a member of its project; 404 otherwise (other projects do not exist)."""
    return release_get_for_user(user=user, release_id=pk)


# --- Gate list and editor ------------------------------------------------------------


@require_GET
def gate_index(request):
    """Gates per project the user can see, with each active release's gate status."""
    only = request.GET.get("project", "").strip().upper()
    projects = selectors.gate_index(user=request.user, project_key=only)
    for p in projects:
        p.can_manage = can(request.user, p, Action.MANAGE_GATES)
    return render(request, "gates/index.html", {"projects": projects, "only": only})


def _editor(request, *, project: Project, gate: QualityGate | None):
    require(request.user, project, Action.MANAGE_GATES)
    if request.method == "POST":
        form = GateForm(request.POST)
        conditions = ConditionFormSet(request.POST, prefix="cond", form_kwargs={"project": project})
        items = ChecklistItemFormSet(request.POST, prefix="item")
        if form.is_valid() and conditions.is_valid() and items.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "revision"}
            try:
                if gate is None:
                    gate = services.gate_create(
                        project=project,
                        by=request.user,
                        conditions=formset_rows(conditions),
                        checklist_items=formset_rows(items),
                        **data,
                    )
                    messages.success(request, f"Gate '{gate.name}' created.")
                else:
                    gate = services.gate_update(
                        gate=gate,
                        by=request.user,
                        expected_revision=form.cleaned_data.get("revision"),
                        data={
                            **data,
                            "conditions": formset_rows(conditions),
                            "checklist_items": formset_rows(items),
                        },
                    )
                    messages.success(request, f"Gate '{gate.name}' saved (revision {gate.revision}).")
                return redirect(f"{reverse('gates:index')}#gate-{gate.pk}")
            except AccessDenied:
                raise
            except DomainError as exc:
                form.add_error(None, exc.message)
        status = 400
    else:
        status = 200
        if gate is None:
            form = GateForm(initial={"order": QualityGate.objects.filter(project=project).count() + 1})
            conditions = ConditionFormSet(prefix="cond", form_kwargs={"project": project})
            items = ChecklistItemFormSet(prefix="item")
        else:
            form = GateForm(initial=model_to_dict(gate, fields=list(GateForm.base_fields)))
            conditions = ConditionFormSet(
                form_kwargs={"project": project},
                prefix="cond",
                initial=[
                    {
                        "id": c.pk,
                        "metric": c.metric,
                        "operator": c.operator,
                        "error_threshold": c.error_threshold,
                        "warn_threshold": c.warn_threshold,
                        "key": c.key,
                        "missing_data": c.missing_data,
                        "order": c.order,
                        "class_thresholds": format_class_thresholds(c.class_thresholds),
                    }
                    for c in gate.conditions.all()
                ],
            )
            items = ChecklistItemFormSet(
                prefix="item",
                initial=[
                    {"id": i.pk, "text": i.text, "role": i.role, "order": i.order}
                    for i in gate.checklist_items.all()
                ],
            )
    return render(
        request,
        "gates/gate_form.html",
        {"project": project, "gate": gate, "form": form, "conditions": conditions, "items": items},
        status=status,
    )


def gate_new(request, key: str):
    project = project_get_for_user(user=request.user, key=key)
    return _editor(request, project=project, gate=None)


def gate_edit(request, pk: int):
    gate = selectors.gate_get_for_user(user=request.user, pk=pk)
    return _editor(request, project=gate.project, gate=gate)


# --- A release's gates -------------------------------------------------------------------


def _release_gates_context(request, release: Release) -> dict:
    """Everything the release gates page shows, in a bounded number of queries."""
    gates = list(selectors.gate_list(project=release.project).filter(is_active=True))
    latest = {e.gate_id: e for e in selectors.latest_evaluations(release_ids=[release.pk])}
    history: dict[int, list] = {}
    for ev in (
        GateEvaluation.objects.filter(release=release, gate__in=gates)
        .select_related("requested_by")
        .order_by("-created_at", "-id")[:200]
    ):
        if len(history.setdefault(ev.gate_id, [])) < 10:
            history[ev.gate_id].append(ev)
    signoffs = list(selectors.signoffs_for_release(release=release))
    live = {s.item_id: s for s in signoffs if s.revoked_at is None}
    past: dict[int, list] = {}
    for s in signoffs:
        if s.revoked_at is not None:
            past.setdefault(s.item_id, []).append(s)
    verdicts = verdicts_for(pairs=[(release, g) for g in gates])
    watermark = release_watermark(release.pk)
    role = role_of(request.user, release.project)
    can_evaluate = can(request.user, release.project, Action.EVALUATE_GATES)
    can_decide = can(request.user, release.project, Action.DECIDE)
    cards = []
    for gate in gates:
        items = [
            {
                "item": i,
                "signoff": live.get(i.pk),
                "revoked": past.get(i.pk, []),
                "can_sign": role == i.role and i.pk not in live,
            }
            for i in gate.checklist_items.all()
        ]
        verdict = verdicts[(release.pk, gate.pk)]
        cards.append(
            {
                "gate": gate,
                "evaluation": latest.get(gate.pk),
                "stale": evaluation_is_stale(evaluation=latest.get(gate.pk), watermark=watermark),
                "history": history.get(gate.pk, []),
                "items": items,
                "decision": verdict.decision,
                "verdict": verdict,
                "current": gate.from_status == release.status and gate.to_status == release.next_status,
            }
        )
    return {
        "release": release,
        "cards": cards,
        "current_cards": [c for c in cards if c["current"]],
        "other_cards": [c for c in cards if not c["current"]],
        "move": next_move_label(release),
        "can_evaluate": can_evaluate,
        "can_decide": can_decide,
        "expired": list(selectors.expired_waivers(release=release)),
        "role": role,
        "signoff_form": SignoffForm(),
        "revoke_form": RevokeForm(),
    }


def _after_card_change(request, release: Release, gate_id: int):
    """htmx: re-render the one gate card (with the messages just added); plain form: back to the page."""
    if request.htmx:
        context = _release_gates_context(request, release)
        card = next((c for c in context["cards"] if c["gate"].pk == gate_id), None)
        if card is not None:
            context.update(card=card, card_messages=list(messages.get_messages(request)))
            return render(request, "gates/_gate_card.html", context)
    return redirect(f"{reverse('gates:release_gates', args=[release.pk])}#gate-{gate_id}")


@require_GET
def release_gates(request, pk: int):
    release = _release(pk, request.user)
    return render(request, "gates/release_gates.html", _release_gates_context(request, release))


@require_GET
def release_gates_panel(request, pk: int):
    """The small panel the release page loads with htmx: each gate's live status, decisions, expired waivers."""
    release = _release(pk, request.user)
    status = selectors.gate_status_by_release(releases=[release])[release.pk]
    return render(
        request,
        "gates/_release_gates_panel.html",
        {"release": release, "status": status, "expired": list(selectors.expired_waivers(release=release))},
    )


@require_POST
def gate_evaluate(request, pk: int, gate_id: int):
    release = _release(pk, request.user)
    gate = get_object_or_404(QualityGate, pk=gate_id, project=release.project)
    with refusal_as_message(request):
        evaluation = services.gate_evaluate(gate=gate, release=release, by=request.user, via="browser")
        messages.success(request, f"'{gate.name}' evaluated: {evaluation.get_status_display()}.")
    if request.POST.get("next", "") == "decide":
        return redirect("gates:decide", pk=release.pk, gate_id=gate.pk)
    return _after_card_change(request, release, gate.pk)


@require_POST
def signoff_create(request, pk: int, item_id: int):
    release = _release(pk, request.user)
    item = get_object_or_404(
        ChecklistItem.objects.select_related("gate__project"), pk=item_id, gate__project=release.project
    )
    form = SignoffForm(request.POST)
    if form.is_valid():
        with refusal_as_message(request):
            services.signoff_create(
                item=item, release=release, by=request.user, comment=form.cleaned_data["comment"]
            )
            messages.success(request, f"Signed off '{item.text}'.")
    return _after_card_change(request, release, item.gate_id)


@require_POST
def signoff_revoke(request, pk: int):
    signoff = selectors.signoff_get_for_user(user=request.user, pk=pk)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Revoking a sign-off needs a reason.")
    else:
        with refusal_as_message(request):
            services.signoff_revoke(signoff=signoff, by=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, f"Sign-off of '{signoff.item.text}' revoked.")
    return _after_card_change(request, signoff.release, signoff.item.gate_id)


# --- Evaluation detail -------------------------------------------------------------------


@require_GET
def evaluation_detail(request, pk: int):
    evaluation = selectors.evaluation_get_for_user(user=request.user, pk=pk)
    previous = selectors.evaluation_previous(evaluation=evaluation)
    diff = selectors.evaluation_diff(evaluation=evaluation, previous=previous)
    flipped = {f["subject"] for f in diff["flipped"]}
    moved = {m["metric"]: m for m in diff["moved"]}
    return render(
        request,
        "gates/evaluation_detail.html",
        {
            "evaluation": evaluation,
            "previous": previous,
            "diff": diff,
            "flipped": flipped,
            "moved": moved,
            "release": evaluation.release,
            "fresh": services.evaluation_is_fresh(evaluation=evaluation),
            "stale": evaluation_is_stale(
                evaluation=evaluation, watermark=release_watermark(evaluation.release_id)
            ),
        },
    )


# --- Decision -------------------------------------------------------------------------------


def _waivers_from_post(post, failures: list[dict]) -> list[dict]:
    waivers = []
    for f in failures:
        prefix = f"waiver-{f['kind']}-{f['id']}-"
        justification = post.get(prefix + "justification", "").strip()
        owner = post.get(prefix + "owner", "").strip()
        expires = post.get(prefix + "expires", "").strip()
        if not (justification or owner or expires):
            continue
        waivers.append(
            {f["kind"]: f["id"], "justification": justification, "owner": owner, "expires": expires or None}
        )
    return waivers


def decide(request, pk: int, gate_id: int):
    release = _release(pk, request.user)
    gate = get_object_or_404(
        QualityGate.objects.select_related("project"), pk=gate_id, project=release.project
    )
    data = selectors.decision_page(release=release, gate=gate)
    latest = data["evaluation"]
    status = 200
    form = DecisionForm(initial={"evaluation": latest.pk if latest else None})
    if request.method == "POST" and "evaluate_now" in request.POST:
        # "Evaluate now" posts the decision form: evaluate, then show the form again with what was typed
        # (decision, rationale, waivers), pointing at the new evaluation.
        with refusal_as_message(request):
            services.gate_evaluate(gate=gate, release=release, by=request.user, via="browser")
            messages.success(request, f"'{gate.name}' evaluated.")
        data = selectors.decision_page(release=release, gate=gate)
        latest = data["evaluation"]
        form = DecisionForm(
            initial={
                "evaluation": latest.pk if latest else None,
                "decision": request.POST.get("decision", ""),
                "rationale": request.POST.get("rationale", ""),
            }
        )
    elif request.method == "POST":
        form = DecisionForm(request.POST)
        if form.is_valid():
            evaluation = selectors.evaluation_get(pk=form.cleaned_data.get("evaluation"))
            kind = form.cleaned_data["decision"]
            waivers = (
                _waivers_from_post(request.POST, services.evaluation_failures(evaluation))
                if kind == "go_with_waivers"
                else []
            )
            try:
                decision = services.decision_record(
                    release=release,
                    gate=gate,
                    evaluation=evaluation,
                    decision=kind,
                    rationale=form.cleaned_data["rationale"],
                    waivers=waivers,
                    by=request.user,
                )
                messages.success(request, f"Decision recorded: {decision.get_decision_display()}.")
                return redirect("gates:release_gates", pk=release.pk)
            except AccessDenied:
                raise
            except DomainError as exc:
                form.add_error(None, exc.message)
        status = 400
    failures = services.evaluation_failures(latest)
    verdict = verdicts_for(pairs=[(release, gate)])[(release.pk, gate.pk)]
    fresh = latest is not None and services.evaluation_is_fresh(evaluation=latest)
    for f in failures:
        prefix = f"waiver-{f['kind']}-{f['id']}-"
        f["prefix"] = prefix
        f["values"] = {k: request.POST.get(prefix + k, "") for k in ("justification", "owner", "expires")}
    return render(
        request,
        "gates/decide.html",
        {
            **data,
            "release": release,
            "gate": gate,
            "form": form,
            "failures": failures,
            "fresh": fresh,
            "verdict": verdict,
            "must_cover": new_decision_must_cover(
                verdict=verdict, evaluation=latest, fresh=fresh, failures=failures
            ),
            "can_decide": can(request.user, release.project, Action.DECIDE),
            "can_evaluate": can(request.user, release.project, Action.EVALUATE_GATES),
            "key_failures": [f for f in failures if f["key"]],
            "default_expiry": (timezone.now() + dt.timedelta(days=14)).date().isoformat(),
        },
        status=status,
    )
