"""The project's test settings page (admins): what a regression does to its defect (testing/regressions.py)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from qualitygov.errors import DomainError
from releases.access import Action, can
from releases.selectors import project_get_for_user

from . import services
from .forms import TestSettingsForm
from .regressions import regression_policy


@require_http_methods(["GET", "POST"])
def project_test_settings(request, key: str):
    project = project_get_for_user(user=request.user, key=key)
    if not can(request.user, project.pk, Action.MANAGE_MEMBERS):
        raise PermissionDenied("Only project admins change the project's test settings.")
    current = regression_policy(project.pk)
    form = TestSettingsForm(request.POST or None, initial={"on_regression": current})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.test_settings_update(
                    project=project, by=request.user, on_regression=form.cleaned_data["on_regression"]
                )
            except DomainError as exc:
                form.add_error("on_regression", exc.message)
            else:
                label = dict(form.fields["on_regression"].choices)[form.cleaned_data["on_regression"]]
                messages.success(request, f"Saved: when a linked test fails again, {label.lower()}.")
                return redirect("testing:project_test_settings", key=project.key)
    context = {"project": project, "form": form, "current": current}
    return render(request, "testing/project_test_settings.html", context, status=status)
