"""Pages for projects, releases and members. They parse input, call one service or selector, and render."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from qualitygov.errors import AccessDenied, DomainError
from qualitygov.pages import form_error, may_change, render_form

from . import selectors, services
from .access import ROLE_ACTIONS, Action, can, may_create_projects
from .forms import MemberAddForm, MemberRoleForm, ProjectForm, ReleaseForm
from .models import ReleaseStatus, Role


def home(request):
    """The home page: the projects the user can see, with their latest releases."""
    return render(request, "home.html", {"projects": selectors.home_projects(user=request.user)})


@require_http_methods(["GET", "POST"])
def project_create(request):
    """Staff (or, with QUALITYGOV_PROJECT_CREATION=everyone, anyone signed in) may start a project and become
    its admin."""
    if not may_create_projects(request.user):
        raise PermissionDenied("Only staff may create projects.")
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.project_create(**form.cleaned_data, by=request.user)
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Project {project.key} created with the default quality gates.")
            return redirect("releases:project_detail", key=project.key)
    return render_form(request, "releases/project_form.html", {"form": form})


def project_detail(request, key: str):
    project = selectors.project_get_for_user(user=request.user, key=key)
    context = {
        "project": project,
        "releases": selectors.project_releases(project=project),
        "members": selectors.membership_list(project=project),
        "can_manage_releases": can(request.user, project, Action.MANAGE_RELEASES),
        "can_manage_members": can(request.user, project, Action.MANAGE_MEMBERS),
    }
    return render(request, "releases/project_detail.html", context)


@require_http_methods(["GET", "POST"])
def project_members(request, key: str):
    """Members and roles; project admins add people, change roles and remove them here."""
    project = selectors.project_get_for_user(user=request.user, key=key)
    may_manage = may_change(
        request, can(request.user, project, Action.MANAGE_MEMBERS), "Only project admins manage members."
    )
    add_form = MemberAddForm()
    status = 200
    if request.method == "POST":
        op = request.POST.get("op", "")
        try:
            if op == "add":
                add_form = MemberAddForm(request.POST)
                if add_form.is_valid():
                    membership = services.member_add(
                        project=project, by=request.user, **add_form.cleaned_data
                    )
                    messages.success(
                        request,
                        f"{membership.user.username} joined {project.key} as "
                        f"{membership.get_role_display()}.",
                    )
                    return redirect("releases:project_members", key=project.key)
                status = 400
            elif op in ("role", "remove"):
                membership = selectors.membership_get(
                    project=project, username=request.POST.get("username", "")
                )
                if op == "role":
                    role_form = MemberRoleForm(request.POST)
                    if not role_form.is_valid():
                        raise DomainError("Choose a valid role.", field="role")
                    services.member_update(
                        membership=membership, role=role_form.cleaned_data["role"], by=request.user
                    )
                    messages.success(
                        request, f"{membership.user.username} is now {membership.get_role_display()}."
                    )
                else:
                    services.member_remove(membership=membership, by=request.user)
                    messages.success(request, f"{membership.user.username} was removed from {project.key}.")
                return redirect("releases:project_members", key=project.key)
            else:
                raise DomainError("Unknown member operation.")
        except AccessDenied:
            raise
        except DomainError as exc:
            if op == "add":
                form_error(add_form, exc)
            else:
                messages.error(request, exc.message)
            status = 400
    context = {
        "project": project,
        "members": selectors.membership_list(project=project),
        "roles": Role.choices,
        "role_matrix": [
            (action.value.replace("_", " "), [role in allowed for role in Role.values])
            for action, allowed in ROLE_ACTIONS.items()
        ],
        "add_form": add_form,
        "may_manage": may_manage,
    }
    return render(request, "releases/project_members.html", context, status=status)


def release_list(request):
    """All releases the user can see, filterable by project and status, 50 per page."""
    project_key = request.GET.get("project", "").strip().upper()
    status = request.GET.get("status", "").strip()
    if status not in ReleaseStatus.values:
        status = ""
    releases = selectors.release_list(user=request.user, project_key=project_key, status=status)
    page = Paginator(releases, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "projects": selectors.project_list_for_user(user=request.user).only("id", "key", "name"),
        "statuses": ReleaseStatus.choices,
        "selected_project": project_key,
        "selected_status": status,
        "query": query.urlencode(),
    }
    return render(request, "releases/release_list.html", context)


def release_detail(request, pk: int):
    release = selectors.release_get_for_user(user=request.user, release_id=pk)
    context = {
        "release": release,
        "project": release.project,
        "counts": selectors.release_counts(release=release),
        "hotfixes": release.hotfixes.order_by("-created_at", "-id"),
        "can_manage_releases": can(request.user, release.project, Action.MANAGE_RELEASES),
        "can_plan_runs": can(request.user, release.project, Action.EXECUTE_TESTS),
    }
    return render(request, "releases/release_detail.html", context)


@require_http_methods(["GET", "POST"])
def release_create(request, key: str):
    project = selectors.project_get_for_user(user=request.user, key=key)
    if not can(request.user, project, Action.MANAGE_RELEASES):
        raise PermissionDenied("Creating releases needs the manager, release manager or admin role.")
    form = ReleaseForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        try:
            release = services.release_create(project=project, by=request.user, **form.cleaned_data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Release {release.version} created.")
            return redirect("releases:release_detail", pk=release.pk)
    context = {"form": form, "project": project, "release": None}
    return render_form(request, "releases/release_form.html", context)


@require_http_methods(["GET", "POST"])
def release_edit(request, pk: int):
    release = selectors.release_get_for_user(user=request.user, release_id=pk)
    project = release.project
    if not can(request.user, project, Action.MANAGE_RELEASES):
        raise PermissionDenied("Editing releases needs the manager, release manager or admin role.")
    initial = {field: getattr(release, field) for field in services.RELEASE_FIELDS}
    form = ReleaseForm(request.POST or None, project=project, instance=release, initial=initial)
    status = 400
    if request.method == "POST" and form.is_valid():
        try:
            services.release_update(release=release, data=form.cleaned_data, by=request.user)
        except DomainError as exc:
            # A move refused by a gate is a 409, as in the API; the form keeps what was typed.
            form_error(form, exc)
            status = exc.status_code
        else:
            messages.success(request, f"Release {release.version} saved.")
            return redirect("releases:release_detail", pk=release.pk)
    context = {"form": form, "project": project, "release": release}
    return render(request, "releases/release_form.html", context, status=status if form.errors else 200)
