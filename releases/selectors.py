"""Reads about projects, memberships and releases."""

from django.db.models import (
    Count,
    F,
    Func,
    IntegerField,
    OrderBy,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from django.http import Http404

from qualitygov.enums import OPEN_STATUSES

from .access import require
from .apps import SQLITE_REGEXP_SUBSTRING
from .models import Membership, Project, Release


def _count_of(relation: str):
    """A correlated COUNT(*) of the rows of the release's reverse `relation` (no join fan-out).

    The counted model is reached through the relation it declares to Release: the evidence apps import releases,
    never the other way round."""
    remote = Release._meta.get_field(relation)
    model, fk = remote.related_model, remote.field.name
    counted = (
        model.objects.filter(**{fk: OuterRef("pk")}).order_by().values(fk).annotate(c=Count("*")).values("c")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _with_counts(qs: QuerySet[Release]) -> QuerySet[Release]:
    return qs.annotate(defect_count=_count_of("found_defects"), run_count=_count_of("test_runs"))


# The numeric parts of a version ("v2.10.1-rc1" -> 2, 10, 1), read by PostgreSQL's substring(text, regex).
_VERSION_PARTS = (r"^\D*(\d{1,9})", r"^\D*\d+\.(\d{1,9})", r"^\D*\d+\.\d+\.(\d{1,9})")


class _RegexpSubstring(Func):
    """The first group of a regex in a text: PostgreSQL's substring(text, regex); on SQLite the function of the
    same meaning that releases/apps.py registers on each connection (SQLite has no regex substring)."""

    function = "substring"

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function=SQLITE_REGEXP_SUBSTRING, **extra_context)


def newest_version_first(prefix: str = "") -> list[OrderBy]:
    """Order releases by semantic version, newest first (2.10.0 above 2.9.1), then by date.

    Major, minor and patch compare as numbers in SQL; a version without a patch ("2.7") sorts below its
    patches; versions with the same numbers fall back to the full text, then the planned date and creation.
    `prefix` is the path to the release from the queried model ("found_in_release__").
    """
    parts = [Cast(_RegexpSubstring(F(f"{prefix}version"), Value(p)), IntegerField()) for p in _VERSION_PARTS]
    return [
        *(part.desc(nulls_last=True) for part in parts),
        F(f"{prefix}version").desc(),
        F(f"{prefix}planned_release_date").desc(nulls_last=True),
        F(f"{prefix}created_at").desc(),
    ]


def visible_to(queryset: QuerySet, *, user, project: str = "project") -> QuerySet:
    """The rows of `queryset` that belong to projects the user is a member of (all of them for superusers);
    `project` is the lookup path from the row to its project ("" for projects themselves)."""
    if user.is_superuser:
        return queryset
    return queryset.filter(**{f"{project}__memberships__user" if project else "memberships__user": user})


def get_for_user(
    queryset: QuerySet, *, user, project: str = "project", message: str = "Not found.", **lookup
):
    """The one row matching `lookup` among those the user may see; Http404 otherwise. The one way pages and API
    look an object up: a project the user is not a member of does not exist for them (404), whatever their role
    elsewhere; what their role in the object's project allows is checked afterwards (403)."""
    row = visible_to(queryset, user=user, project=project).filter(**lookup).first()
    if row is None:
        raise Http404(message)
    return row


def project_list_for_user(*, user) -> QuerySet[Project]:
    """Projects the user can see: those they are a member of (all of them for superusers)."""
    return visible_to(Project.objects.all(), user=user, project="").order_by("key")


def project_get_for_user(*, user, key: str) -> Project:
    """The project with this key if the user may see it; Http404 otherwise (other projects do not exist)."""
    return get_for_user(
        Project.objects.all(), user=user, project="", message="No such project.", key=(key or "").upper()
    )


def project_get_for_action(*, user, key: str, action) -> Project:
    """The project with this key for a user whose role there allows `action`: 404 for a non-member (as
    `project_get_for_user`), then 403 for a member whose role does not allow it (`access.require`)."""
    project = project_get_for_user(user=user, key=key)
    require(user, project, action)
    return project


def release_list_for_user(*, user) -> QuerySet[Release]:
    return visible_to(Release.objects.select_related("project"), user=user)


def release_list(*, user, project_key: str = "", status: str = "") -> QuerySet[Release]:
    """Releases the user can see, newest first, optionally filtered by project key and status.

    Each row carries its project and the number of defects and test runs, in one query.
    """
    qs = release_list_for_user(user=user).select_related("hotfix_for")
    if project_key:
        qs = qs.filter(project__key=project_key.upper())
    if status:
        qs = qs.filter(status=status)
    return _with_counts(qs).order_by("project__key", *newest_version_first(), "-id")


def release_get_for_user(*, user, release_id: int) -> Release:
    """One release the user may see, with its project and hotfix link; Http404 otherwise."""
    return get_for_user(
        Release.objects.select_related("project", "hotfix_for"),
        user=user,
        message="No such release.",
        pk=release_id,
    )


def release_counts(*, release: Release) -> dict[str, int]:
    """Evidence counts shown on the release page, in two queries."""
    defects = release.found_defects.aggregate(
        total=Count("id"),
        open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
        production=Count("id", filter=Q(found_in_environment="production")),
    )
    runs = release.test_runs.aggregate(total=Count("id"))
    return {
        "defects": defects["total"],
        "open_defects": defects["open"],
        "production_defects": defects["production"],
        "runs": runs["total"],
    }


def membership_list(*, project: Project) -> QuerySet[Membership]:
    return Membership.objects.filter(project=project).select_related("user").order_by("user__username")


def membership_get(*, project: Project, username: str) -> Membership:
    """A member of the project by username; Http404 when they are not a member."""
    membership = membership_list(project=project).filter(user__username=username).first()
    if membership is None:
        raise Http404("No such member.")
    return membership


def memberships_for_user(*, user) -> QuerySet[Membership]:
    """The user's roles, project by project (for /api/v1/me/)."""
    return Membership.objects.filter(user=user).select_related("project").order_by("project__key")


def project_releases(*, project: Project) -> QuerySet[Release]:
    """A project's releases, newest first, with defect and run counts (one query)."""
    return _with_counts(Release.objects.filter(project=project).select_related("hotfix_for")).order_by(
        *newest_version_first(), "-id"
    )


def home_projects(*, user) -> QuerySet[Project]:
    """Projects for the home page with their releases prefetched (two queries whatever the size)."""
    return project_list_for_user(user=user).prefetch_related(
        Prefetch("releases", queryset=Release.objects.order_by(*newest_version_first()))
    )
