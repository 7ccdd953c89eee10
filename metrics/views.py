"""Alert-rule and risk-policy pages, and the page of the items a release metric counts. Thin: load with a selector /
read model, call a service, render."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from qualitygov.errors import DomainError
from qualitygov.pages import may_change
from qualitygov.timeparams import parse_as_of
from releases.access import Action, can
from releases.selectors import project_get_for_user, release_get_for_user

from . import alerts as alert_services
from . import drilldown, selectors, services
from .forms import AlertRuleForm, WebhookForm
from .models import AlertRule
from .policy import policy_for
from .policy_apis import policy_body
from .policy_forms import EconomicsForm, IndicatorFormSet, PolicyMetaForm
from .project_metrics import project_metrics
from .registry import definitions_for

MANAGE_ALERTS_REFUSAL = "Managing alert rules needs the admin role in this project."


@require_http_methods(["GET", "POST"])
def alert_rules(request, key: str):
    """The project's alert rules and webhooks, recent alerts; admins add rules and webhooks here."""
    project = project_get_for_user(user=request.user, key=key)
    may_manage = may_change(request, can(request.user, project, Action.MANAGE_GATES), MANAGE_ALERTS_REFUSAL)
    rule_form = AlertRuleForm(project=project)
    hook_form = WebhookForm()
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("form") == "webhook":
                hook_form = WebhookForm(request.POST)
                if hook_form.is_valid():
                    alert_services.webhook_create(project=project, by=request.user, **hook_form.cleaned_data)
                    messages.success(request, "Webhook added.")
                    return redirect("metrics:alert_rules", key=project.key)
            else:
                rule_form = AlertRuleForm(request.POST, project=project)
                if rule_form.is_valid():
                    data = rule_form.cleaned_data
                    alert_services.alert_rule_create(
                        project=project,
                        metric=data["metric"],
                        threshold=data["threshold"],
                        direction=data["direction"],
                        owner=data["owner"],
                        webhooks=data["webhooks"],
                        by=request.user,
                    )
                    messages.success(request, "Alert rule added.")
                    return redirect("metrics:alert_rules", key=project.key)
        except DomainError as exc:
            messages.error(request, exc.message)
        status = 400
    context = {
        "project": project,
        "rules": selectors.alert_rules_for(project=project),
        "webhooks": project.webhooks.all(),
        "alerts": project.alerts.select_related("release", "rule")[:50],
        "rule_form": rule_form,
        "hook_form": hook_form,
        "may_manage": may_manage,
    }
    return render(request, "metrics/alert_rules.html", context, status=status)


@require_POST
def alert_rule_delete(request, key: str, pk: int):
    project = project_get_for_user(user=request.user, key=key)
    if not can(request.user, project, Action.MANAGE_GATES):
        raise PermissionDenied(MANAGE_ALERTS_REFUSAL)
    rule = AlertRule.objects.filter(project=project, pk=pk).first()
    if rule is None:
        raise Http404("No such alert rule.")
    alert_services.alert_rule_delete(rule=rule, by=request.user)
    messages.success(request, "Alert rule deleted.")
    return redirect("metrics:alert_rules", key=project.key)


@require_http_methods(["GET", "POST"])
def project_policy(request, key: str):
    """The project's risk policy: indicators, thresholds and weights; admins save a new version, everyone sees
    which version is in force and the history (who, when, why)."""
    project = project_get_for_user(user=request.user, key=key)
    may_manage = may_change(
        request,
        can(request.user, project, Action.MANAGE_GATES),
        "Changing the risk policy needs the admin role in this project.",
    )
    definitions = definitions_for(project)
    current = policy_for(project)
    status = 200
    if request.method == "POST":
        rows = IndicatorFormSet(request.POST, prefix="ind", form_kwargs={"definitions": definitions})
        meta = PolicyMetaForm(request.POST)
        costs = EconomicsForm(request.POST, prefix="eco")
        if rows.is_valid() and meta.is_valid() and costs.is_valid():
            risk = {}
            for form in rows.forms:
                data = form.cleaned_data
                if not data or data.get("DELETE") or not data.get("metric"):
                    continue
                rule = {"pass": data["passes"], "warn": data["warn"], "weight": data["weight"]}
                if data.get("direction"):
                    rule["direction"] = data["direction"]
                risk[data["metric"]] = rule
            sections = {k: v for k, v in current.items() if k != "version"}
            try:
                services.policy_update(
                    project=project,
                    data={**sections, "risk": risk, "economics": costs.cleaned_data},
                    by=request.user,
                    comment=meta.cleaned_data["comment"],
                    expected_version=meta.cleaned_data["expected_version"],
                )
                messages.success(request, "Risk policy saved as a new version.")
                return redirect("metrics:project_policy", key=project.key)
            except DomainError as exc:
                messages.error(request, exc.message)
        else:
            messages.error(request, "Check the highlighted fields.")
        status = 400
    else:
        initial = [
            {
                "metric": k,
                "passes": r["pass"],
                "warn": r["warn"],
                "weight": r["weight"],
                "direction": r.get("direction", ""),
            }
            for k, r in current["risk"].items()
        ]
        rows = IndicatorFormSet(prefix="ind", initial=initial, form_kwargs={"definitions": definitions})
        meta = PolicyMetaForm(initial={"expected_version": current["version"]})
        costs = EconomicsForm(prefix="eco", initial=current.get("economics") or {})
    context = {
        "costs": costs,
        "project": project,
        "body": policy_body(project, user=request.user),
        "rows": rows,
        "meta": meta,
        "may_manage": may_manage,
    }
    return render(request, "metrics/policy.html", context, status=status)


def _as_of(request, now_of) -> tuple:
    """The page's T (default: the instant "now" means for the scope's figures) and its status (400: unreadable)."""
    try:
        return parse_as_of(request.GET.get("as_of")) or now_of(), 200
    except DomainError as exc:
        messages.error(request, f"as_of: {exc.message}")
        return now_of(), 400


def _items_page(request, *, project, release, key: str, value, as_of, parts: dict, status: int):
    context = {
        "release": release,
        "project": project,
        "key": key,
        "definition": definitions_for(project)[key],
        "value": value,
        "as_of": as_of,
        "parts": [
            {
                "name": name,
                "label": drilldown.PART_LABELS[name],
                "kind": drilldown.item_kind(key, name),
                **part,
            }
            for name, part in parts.items()
        ],
    }
    return render(request, "metrics/items.html", context, status=status)


@require_GET
def release_metric_items(request, release_id: int, key: str):
    """What a release metric counts as of T, the page behind a dashboard tile: each part's items (the counted ones;
    numerator and denominator of a rate; the averaged sample), with the value they make."""
    release = release_get_for_user(user=request.user, release_id=release_id)
    if key not in drilldown.PARTS:
        raise Http404("This metric has no item list.")
    as_of, status = _as_of(request, lambda: selectors.release_as_of_now(release=release))
    value = services.compute_release_scope(release=release, keys=[key], as_of=as_of)[key]
    parts = drilldown.drilldown_parts(release=release, key=key, as_of=as_of)
    return _items_page(
        request,
        project=release.project,
        release=release,
        key=key,
        value=value,
        as_of=as_of,
        parts=parts,
        status=status,
    )


@require_GET
def project_metric_items(request, key: str, metric: str):
    """The incidents (MTTR: restored in the window, and the open ones) or releases (change failure rate) a project
    metric counts as of T, the page behind a project dashboard tile."""
    project = project_get_for_user(user=request.user, key=key)
    if metric not in drilldown.PROJECT_PARTS:
        raise Http404("This metric has no item list.")
    as_of, status = _as_of(request, lambda: selectors.project_as_of_now(project=project))
    value = project_metrics(project=project, as_of=as_of, keys=[metric])[metric]
    parts = drilldown.project_drilldown_parts(project=project, key=metric, as_of=as_of)
    return _items_page(
        request,
        project=project,
        release=None,
        key=metric,
        value=value,
        as_of=as_of,
        parts=parts,
        status=status,
    )
