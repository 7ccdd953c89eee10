"""Dashboard pages: the portfolio, a release's and a project's dashboard (reads only), and the release's
"Recompute now" button (a POST that stores fresh snapshots)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from metrics import services as metric_services
from releases.access import Action, can
from releases.selectors import project_get_for_user, project_list_for_user, release_get_for_user

from . import selectors


def release_dashboard(request, pk: int):
    release = release_get_for_user(user=request.user, release_id=pk)
    context = selectors.release_dashboard(release=release)
    context["can_recompute"] = can(request.user, release.project, Action.EVALUATE_GATES)
    return render(request, "dashboards/release_dashboard.html", context)


@require_POST
def release_recompute(request, pk: int):
    release = release_get_for_user(user=request.user, release_id=pk)
    if not can(request.user, release.project, Action.EVALUATE_GATES):
        raise PermissionDenied("Recomputing metrics needs the QA, manager, release manager or admin role.")
    metric_services.snapshot_release(release=release)
    metric_services.snapshot_project(project=release.project)
    messages.success(request, "Metrics recomputed.")
    return redirect("dashboards:release_dashboard", pk=release.pk)


def project_dashboard(request, key: str):
    project = project_get_for_user(user=request.user, key=key)
    context = selectors.project_dashboard(project=project)
    context["can_manage_alerts"] = can(request.user, project, Action.MANAGE_GATES)
    return render(request, "dashboards/project_dashboard.html", context)


def portfolio(request):
    context = selectors.portfolio(projects=project_list_for_user(user=request.user))
    return render(request, "dashboards/portfolio.html", context)
