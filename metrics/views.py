"""Alert-rule pages. Thin: load with a selector / read model, call a service, render."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from qualitygov.errors import DomainError
from releases.access import Action, can
from releases.selectors import project_get_for_user

from . import alerts as alert_services
from . import selectors
from .forms import AlertRuleForm, WebhookForm
from .models import AlertRule


@require_http_methods(["GET", "POST"])
def alert_rules(request, key: str):
    """The project's alert rules and webhooks, recent alerts; admins add rules and webhooks here."""
    project = project_get_for_user(user=request.user, key=key)
    may_manage = can(request.user, project, Action.MANAGE_GATES)
    rule_form = AlertRuleForm(project=project)
    hook_form = WebhookForm()
    status = 200
    if request.method == "POST":
        if not may_manage:
            raise PermissionDenied("Managing alert rules needs the admin role in this project.")
        try:
            if request.POST.get("form") == "webhook":
                hook_form = WebhookForm(request.POST)
                if hook_form.is_valid():
                    alert_services.webhook_create(project=project, **hook_form.cleaned_data)
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
        raise PermissionDenied("Managing alert rules needs the admin role in this project.")
    rule = AlertRule.objects.filter(project=project, pk=pk).first()
    if rule is None:
        raise Http404("No such alert rule.")
    alert_services.alert_rule_delete(rule=rule)
    messages.success(request, "Alert rule deleted.")
    return redirect("metrics:alert_rules", key=project.key)
