"""Demo data housekeeping: whether the demo projects exist, deleting them, the demo users, planner statistics."""

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from gates.models import Decision, GateEvaluation, Waiver
from releases.models import Project

from .data import DEMO_KEYS, DEMO_PASSWORD, DEMO_USERS, PROJECTS

User = get_user_model()


def refresh_planner_statistics() -> None:
    """ANALYZE after the bulk load, on PostgreSQL: autovacuum would get there eventually, but until it does the
    planner guesses row counts of freshly loaded tables, and one metric query was seen taking minutes instead
    of a fraction of a second (snapshots right after `seed_demo --scale 50`).

    Only the project's own tables are named: a bare ANALYZE also analyses the cluster-wide catalogs
    (pg_database, pg_authid, ...), whose locks, held until the transaction ends, make every other database of
    the cluster that runs ANALYZE wait (seen with parallel test workers seeding demo data)."""
    if connection.vendor == "postgresql":
        tables = ", ".join(
            connection.ops.quote_name(name)
            for name in connection.introspection.django_table_names(only_existing=True)
        )
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {tables}")


def demo_projects_exist() -> bool:
    return Project.objects.filter(key__in=DEMO_KEYS).exists()


def demo_reset() -> int:
    """Delete the demo projects with everything in them (users are kept). Returns how many were deleted.

    Gate evaluations, decisions and waivers are append-only and protect their release; they go first,
    with queryset deletes (no model `delete()`), because a reset is the one place where they may.
    """
    projects = list(Project.objects.filter(key__in=DEMO_KEYS))
    with transaction.atomic():
        Waiver.objects.filter(decision__release__project__in=projects).delete()
        decisions = Decision.objects.filter(release__project__in=projects)
        decisions.update(supersedes=None)
        decisions.delete()
        GateEvaluation.objects.filter(release__project__in=projects).delete()
        for project in projects:
            project.delete()
    return len(projects)


def demo_users_ensure() -> dict[str, object]:
    """Demo users (one password for all, hashed once). Existing users keep their ids; the password is reset."""
    hashed = make_password(DEMO_PASSWORD)
    names = list(DEMO_USERS) + [dev for p in PROJECTS for dev in p["devs"]]
    users = {}
    for name in names:
        user, _ = User.objects.get_or_create(username=name, defaults={"email": f"{name}@demo.example"})
        user.password = hashed
        user.first_name = name.split(".")[-1].capitalize() if "." in name else ""
        user.save(update_fields=["password", "first_name"])
        users[name] = user
    return users
