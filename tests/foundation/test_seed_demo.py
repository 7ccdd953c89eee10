"""seed_demo: the shape of the portfolio, histories that obey the contract, determinism, refusal."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F, OuterRef, Subquery

from defects.models import ALLOWED_TRANSITIONS, Defect, DefectTransition
from gates.models import QualityGate
from incidents.models import ActionItem, Incident, PostMortem
from releases.models import Membership, Project, Release
from testing.asof import links_as_of, scope_as_of
from testing.models import Requirement, RequirementScopeChange
from testing.models import TestCase as Case
from testing.models import TestCaseLinkChange as LinkChange
from testing.models import TestResult as Result
from testing.models import TestRun as Run

pytestmark = pytest.mark.django_db

NOW = "2026-06-30T12:00:00+00:00"


def seed(*args, err: io.StringIO | None = None):
    out = io.StringIO()
    call_command("seed_demo", "--now", NOW, *args, stdout=out, stderr=err or io.StringIO())
    return out.getvalue()


def snapshot() -> dict:
    """Everything that matters, by natural keys (database ids may differ between runs)."""
    return {
        "releases": sorted(
            Release.objects.values_list(
                "project__key",
                "version",
                "status",
                "change_class",
                "planned_release_date",
                "actual_release_date",
                "hotfix_for__version",
                "created_at",
            )
        ),
        "requirements": sorted(
            Requirement.objects.values_list("project__key", "key", "title", "criticality")
        ),
        "scope": sorted(
            Requirement.releases.through.objects.values_list("requirement__key", "release__version")
        ),
        "cases": sorted(Case.objects.values_list("project__key", "identity", "title", "kind")),
        "runs": sorted(
            Run.objects.values_list(
                "release__version",
                "name",
                "revision",
                "started_at",
                "passed",
                "failed",
                "errors",
                "skipped",
                "flaky",
            )
        ),
        "results": sorted(
            Result.objects.values_list(
                "run__release__version", "run__name", "test_case__title", "status", "flaky"
            )
        ),
        "defects": sorted(
            Defect.objects.values_list(
                "key",
                "title",
                "status",
                "resolution",
                "severity",
                "priority",
                "found_in_environment",
                "found_in_release__version",
                "duplicate_of__key",
                "created_at",
                "assignee__username",
            )
        ),
        "transitions": sorted(
            DefectTransition.objects.values_list(
                "defect__key", "from_status", "to_status", "at", "resolution"
            )
        ),
        "incidents": sorted(
            Incident.objects.values_list(
                "project__key", "title", "started_at", "restored_at", "release__version"
            )
        ),
    }


def test_seed_builds_the_expected_shape():
    # when
    progress = io.StringIO()
    output = seed(err=progress)
    # then: three projects with members of every role and their default gates
    assert set(Project.objects.values_list("key", flat=True)) == {"PAY", "WEB", "OPS"}
    for project in Project.objects.all():
        roles = set(Membership.objects.filter(project=project).values_list("role", flat=True))
        assert roles == {"admin", "qa", "manager", "release_manager", "viewer"}
        assert QualityGate.objects.filter(project=project).exists()
        statuses = set(project.releases.values_list("status", flat=True))
        assert {"released", "planning", "testing", "ready"} <= statuses
        assert project.releases.filter(change_class="hotfix", hotfix_for__isnull=False).exists()
        assert 150 <= project.defects.count() <= 600  # "a few hundred" at scale 1
    assert not Release.objects.filter(status="released", actual_release_date__isnull=True).exists()
    # tests and evidence
    assert Case.objects.filter(kind="automated").exclude(identity="").exists()
    assert Case.objects.filter(kind="manual").exclude(steps=[]).exists()
    assert Case.requirements.through.objects.exists()
    assert Run.objects.filter(source="ci").exists() and Run.objects.filter(source="manual").exists()
    assert Result.objects.filter(status="failed").exists() and Result.objects.filter(flaky=True).exists()
    assert not Result.objects.exclude(release=F("run__release")).exists()
    # scope and links have a history that replays to exactly the current ones, and no entry predates its ends
    now = dt.datetime.fromisoformat(NOW)
    replayed = {
        (r.pk, q) for r in Release.objects.all() for q in scope_as_of(r, now).values_list("pk", flat=True)
    }
    assert replayed == {
        (b, a) for a, b in Requirement.releases.through.objects.values_list("requirement_id", "release_id")
    }
    assert set(links_as_of(now).values_list("test_case_id", "requirement_id")) == set(
        Case.requirements.through.objects.values_list("testcase_id", "requirement_id")
    )
    assert not RequirementScopeChange.objects.filter(at__lt=F("requirement__created_at")).exists()
    assert not LinkChange.objects.filter(at__lt=F("test_case__created_at")).exists()
    # defect histories with reopens, duplicates, won't-fix and production escapes
    assert DefectTransition.objects.filter(to_status="reopened").exists()
    assert Defect.objects.filter(duplicate_of__isnull=False, resolution="duplicate").exists()
    assert Defect.objects.filter(resolution="wont_fix").exists()
    assert Defect.objects.filter(found_in_environment="production").exists()
    assert Defect.objects.filter(status__in=["new", "triaged", "in_progress", "reopened"]).exists()
    # incidents with post-mortems and action items, some still open
    assert Incident.objects.filter(restored_at__isnull=False).exists()
    assert PostMortem.objects.exists() and ActionItem.objects.exists()
    assert "qualitygov-demo" in output
    # the progress bar reached its total
    from demo.builder import DemoBuilder
    from demo.data import PROJECTS

    total = len(PROJECTS) * DemoBuilder.STEPS_PER_PROJECT
    assert f"{total}/{total}" in progress.getvalue()


def test_every_defect_status_is_its_latest_transition_and_every_move_is_allowed():
    seed()
    latest = DefectTransition.objects.filter(defect=OuterRef("pk")).order_by("-at", "-id")
    mismatched = Defect.objects.annotate(
        last_to=Subquery(latest.values("to_status")[:1]), last_res=Subquery(latest.values("resolution")[:1])
    )
    assert not mismatched.exclude(status=F("last_to")).exists()
    assert not mismatched.exclude(resolution=F("last_res")).exists()
    moves = set(DefectTransition.objects.values_list("from_status", "to_status").distinct())
    for from_status, to_status in moves:
        if from_status == "":
            assert to_status == "new"
        else:
            assert to_status in ALLOWED_TRANSITIONS[from_status], (from_status, to_status)
    # one creation move per defect, and no move before the defect was created
    assert DefectTransition.objects.filter(from_status="").count() == Defect.objects.count()
    assert not DefectTransition.objects.filter(at__lt=F("defect__created_at")).exists()
    assert not DefectTransition.objects.filter(at__gt=NOW).exists()
    # duplicates point at an earlier defect of the same project
    assert (
        not Defect.objects.filter(duplicate_of__isnull=False)
        .exclude(project=F("duplicate_of__project"))
        .exists()
    )
    assert not Defect.objects.filter(
        duplicate_of__isnull=False, duplicate_of__number__gte=F("number")
    ).exists()
    # production escapes were found after their release went live
    assert not Defect.objects.filter(
        found_in_environment="production", created_at__lt=F("found_in_release__actual_release_date")
    ).exists()


def test_same_seed_builds_the_same_data_and_another_seed_differs():
    seed("--seed", "7")
    first = snapshot()
    seed("--seed", "7", "--reset")
    assert snapshot() == first
    seed("--seed", "8", "--reset")
    assert snapshot()["defects"] != first["defects"]


def test_seed_refuses_when_demo_data_exists_unless_reset_or_if_missing():
    seed()
    count = Defect.objects.count()
    with pytest.raises(CommandError, match="--reset"):
        seed()
    assert "nothing to do" in seed("--if-missing")
    assert Defect.objects.count() == count


@pytest.mark.parametrize("args", [("--scale", "0"), ("--now", "yesterday")])
def test_bad_arguments_are_refused(args):
    with pytest.raises(CommandError):
        call_command("seed_demo", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert not Project.objects.exists()


def test_ensure_admin_creates_then_promotes_without_changing_a_password(monkeypatch):
    from django.contrib.auth import get_user_model

    from demo.data import DEMO_PASSWORD

    monkeypatch.delenv("QUALITYGOV_ADMIN_PASSWORD", raising=False)
    # given no admin: it is created as superuser with the demo password, which is printed
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.check_password(DEMO_PASSWORD)
    assert f"admin / {DEMO_PASSWORD}" in out.getvalue()
    # given an admin whose password was changed: it stays, and is not printed
    admin.set_password("something-else-1")
    admin.is_superuser = False
    admin.save()
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    admin.refresh_from_db()
    assert admin.is_superuser and admin.check_password("something-else-1")
    assert "unchanged" in out.getvalue() and "something-else-1" not in out.getvalue()


def test_planner_statistics_leave_the_cluster_wide_catalogs_unlocked():
    # Given: PostgreSQL, where other databases of the cluster (parallel test workers, other apps) run ANALYZE too
    from django.db import connection

    from demo.services import refresh_planner_statistics

    if connection.vendor != "postgresql":
        pytest.skip("ANALYZE is PostgreSQL's")
    # When: the demo seeding refreshes the planner statistics inside a transaction (the test's own)
    refresh_planner_statistics()
    # Then: our backend holds no lock on a shared catalog, which would block ANALYZE in every other database
    # until this transaction ends, but it did analyse the project's tables
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = pg_backend_pid() AND c.relisshared"
        )
        shared = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = pg_backend_pid() AND c.relname = 'defects_defect' AND l.mode = 'ShareUpdateExclusiveLock'"
        )
        analysed = cursor.fetchone()[0]
    assert shared == []
    assert analysed == 1
