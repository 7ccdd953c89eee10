"""The one answer to "may this user do X in this project", used by pages and the API alike.

Roles are per project (Membership). Django superusers may do everything an admin may.
Recording a go/no-go decision is reserved to release managers by the contract, so not even admins
or superusers get `decide` without holding that role.
"""

from enum import StrEnum

from django.contrib.auth.models import AnonymousUser

from qualitygov.errors import AccessDenied

from .models import Membership, Project, Role


class Action(StrEnum):
    VIEW = "view"
    EDIT_DEFECTS = "edit_defects"  # create, edit, move, comment, bulk actions
    IMPORT = "import"  # Jira import, backdated timestamps
    EDIT_TESTS = "edit_tests"  # requirements, test cases, links
    EXECUTE_TESTS = "execute_tests"  # manual runs
    UPLOAD_RESULTS = "upload_results"  # JUnit ingestion
    MANAGE_RELEASES = "manage_releases"
    MANAGE_INCIDENTS = "manage_incidents"
    EVALUATE_GATES = "evaluate_gates"
    MANAGE_GATES = "manage_gates"  # gate definitions, alert rules, policy
    DECIDE = "decide"  # go/no-go decisions
    MANAGE_MEMBERS = "manage_members"


_ALL = frozenset(Role.values)
_WRITERS = frozenset({Role.QA, Role.MANAGER, Role.RELEASE_MANAGER, Role.ADMIN})
_LEADS = frozenset({Role.MANAGER, Role.RELEASE_MANAGER, Role.ADMIN})

ROLE_ACTIONS: dict[Action, frozenset[str]] = {
    Action.VIEW: _ALL,
    Action.EDIT_DEFECTS: _WRITERS,
    Action.IMPORT: frozenset({Role.MANAGER, Role.ADMIN}),
    Action.EDIT_TESTS: _WRITERS,
    Action.EXECUTE_TESTS: _WRITERS,
    Action.UPLOAD_RESULTS: _WRITERS,
    Action.MANAGE_RELEASES: _LEADS,
    Action.MANAGE_INCIDENTS: _LEADS,
    Action.EVALUATE_GATES: _WRITERS,
    Action.MANAGE_GATES: frozenset({Role.ADMIN}),
    Action.DECIDE: frozenset({Role.RELEASE_MANAGER}),
    Action.MANAGE_MEMBERS: frozenset({Role.ADMIN}),
}


def role_of(user, project: Project | int) -> str | None:
    """The user's role in the project, or None. Cached per request on the user object."""
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return None
    project_id = project if isinstance(project, int) else project.pk
    cache = user.__dict__.setdefault("_qg_roles", {})
    if project_id not in cache:
        cache[project_id] = (
            Membership.objects.filter(user=user, project_id=project_id).values_list("role", flat=True).first()
        )
    return cache[project_id]


def can(user, project: Project | int, action: Action | str) -> bool:
    """True when the user's role in the project allows the action."""
    action = Action(action)
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    role = role_of(user, project)
    if role in ROLE_ACTIONS[action]:
        return True
    return bool(user.is_superuser and action != Action.DECIDE)


def can_anywhere(user, action: Action | str) -> bool:
    """True when the user's role in at least one project allows the action (one query): for showing controls."""
    action = Action(action)
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser and action != Action.DECIDE:
        return True
    return Membership.objects.filter(user=user, role__in=ROLE_ACTIONS[action]).exists()


def require(user, project: Project | int, action: Action | str) -> None:
    """Raise AccessDenied (403) unless the user may do the action in the project."""
    if not can(user, project, action):
        role = role_of(user, project)
        who = f"role '{role}'" if role else "no role"
        raise AccessDenied(
            f"You have {who} in this project; '{Action(action).value}' needs one of: "
            f"{', '.join(sorted(ROLE_ACTIONS[Action(action)]))}."
        )


def authorize(by, project: Project | int, action: Action | str) -> None:
    """The permission check a write service makes before it changes anything: `by`, the acting user, must be
    allowed the action in the project (`require`: AccessDenied, 403, otherwise).

    `by=None` is the system acting on its own: a Celery task, a management command, the demo seed, an ingestion
    worker, or a service's follow-up of a change it was allowed to make. Services take `by` without a default, so
    such a caller writes `by=None` out; pages and the API always pass the request's user.
    """
    if by is not None:
        require(by, project, action)


def has_role(user, project: Project | int, role: str) -> bool:
    """Exact role check, for checklist items that name the role allowed to sign."""
    return role_of(user, project) == role


ACTION_DESCRIPTIONS: dict[Action, str] = {
    Action.VIEW: "See the project, its releases, evidence, metrics and gates",
    Action.EDIT_DEFECTS: "Create, edit, move and comment defects; bulk actions",
    Action.IMPORT: "Import from Jira; backdate timestamps",
    Action.EDIT_TESTS: "Edit requirements, test cases and their links",
    Action.EXECUTE_TESTS: "Run manual tests and record results",
    Action.UPLOAD_RESULTS: "Upload JUnit results from CI",
    Action.MANAGE_RELEASES: "Create, edit and delete releases",
    Action.MANAGE_INCIDENTS: "Record incidents, post-mortems and action items",
    Action.EVALUATE_GATES: "Evaluate quality gates",
    Action.MANAGE_GATES: "Edit gates, alert rules and metric policy",
    Action.DECIDE: "Record go/no-go decisions and waivers",
    Action.MANAGE_MEMBERS: "Add members, change roles, rename the project",
}


def role_table_markdown() -> str:
    """The roles table of docs/roles.md, generated from ROLE_ACTIONS so the documentation cannot drift."""
    roles = list(Role)
    lines = [
        "| action | what it covers | " + " | ".join(r.label for r in roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    for action, allowed in ROLE_ACTIONS.items():
        marks = " | ".join("✓" if r.value in allowed else "—" for r in roles)
        lines.append(f"| `{action.value}` | {ACTION_DESCRIPTIONS[action]} | {marks} |")
    return "\n".join(lines)


def may_create_projects(user) -> bool:
    """Starting a project makes its creator the admin, so by default only staff may (Django's is_staff or a
    superuser); QUALITYGOV_PROJECT_CREATION = "everyone" opens it to every signed-in user."""
    from django.conf import settings

    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if getattr(settings, "QUALITYGOV_PROJECT_CREATION", "staff") == "everyone":
        return True
    return bool(user.is_staff or user.is_superuser)


def require_project_creation(user) -> None:
    """Raise AccessDenied (403) unless the user may start a project."""
    if not may_create_projects(user):
        raise AccessDenied(
            "Only staff may create projects here; ask an administrator "
            "(QUALITYGOV_PROJECT_CREATION=everyone opens it to every signed-in user).",
            code="project_creation_restricted",
        )
