"""Jira CSV import: mapping, dates, multi-line fields, history synthesis, upsert, dry run, skipped rows."""

import datetime as dt
import io
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.core.management.base import OutputWrapper

from defects.jira_import import JiraImportError, import_jira_csv, parse_jira_datetime, shortest_path
from defects.models import Defect, DefectFieldChange, DefectTransition
from releases.models import Release

pytestmark = pytest.mark.django_db

HADOOP = Path("/work/shared/datasets/defects/gitbugs/hadoop_bugs.csv")

SMALL = """Summary,Issue id,Issue key,Status,Priority,Resolution,Created,Resolved,Affects Version/s,Affects Version/s,Fix Version/s,Component/s,Description
Checkout crashes on empty cart,1001,SHOP-1,Open,Blocker,,30/Sep/21 17:20,,2.0,,,cart,"Steps:
1. open the cart
2. press ""pay""

Crash."
Wrong currency symbol,1002,SHOP-2,Resolved,Minor,Fixed,2021-09-01T10:00:00.000+0000,2021-09-03 12:30,2.0,2.1,2.1,,Shows $ for EUR
Refund page slow,1003,SHOP-3,Reopened,Critical,,01/Oct/21 09:00,,,,,,
Duplicate of checkout crash,1004,SHOP-4,Closed,Major,Duplicate,02/Oct/21 09:00,03/Oct/21 10:00,2.0,,,,
Patch under review,1005,SHOP-5,Patch Available,Trivial,,04/Oct/21 09:00,,,,,,
,1006,SHOP-6,Open,Major,,04/Oct/21 09:00,,,,,,no summary
Bad date,1007,SHOP-7,Open,Major,,yesterday-ish,,,,,,
Strange status,1008,SHOP-8,Parked,Major,,04/Oct/21 09:00,,,,,,
Wrong currency symbol again,1002,SHOP-2,Open,Minor,,04/Oct/21 09:00,,,,,,
"""


def _import(project, by, text=SMALL, **kwargs):
    return import_jira_csv(project=project, text=text, by=by, **kwargs)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30/Sep/21 17:20", dt.datetime(2021, 9, 30, 17, 20, tzinfo=dt.UTC)),
        ("30/Sep/2021 17:20", dt.datetime(2021, 9, 30, 17, 20, tzinfo=dt.UTC)),
        ("2021-09-30T17:20:00.000+0200", dt.datetime(2021, 9, 30, 15, 20, tzinfo=dt.UTC)),
        ("2021-09-30T17:20:00Z", dt.datetime(2021, 9, 30, 17, 20, tzinfo=dt.UTC)),
        ("2021-09-30 17:20", dt.datetime(2021, 9, 30, 17, 20, tzinfo=dt.UTC)),
        ("", None),
    ],
)
def test_jira_dates(text, expected):
    assert parse_jira_datetime(text) == expected


def test_unreadable_date_raises():
    with pytest.raises(ValueError, match="unreadable date"):
        parse_jira_datetime("soon")


def test_import_maps_fields_and_reports_skipped_rows(project, manager):
    report = _import(project, manager)
    # then 5 rows are imported, 4 skipped with their reasons
    assert (report.rows, report.created) == (9, 5)
    reasons = {s.external_id: s.reason for s in report.skipped}
    assert reasons["1006"] == "empty Summary"
    assert "unreadable date" in reasons["1007"]
    assert "unknown Status 'Parked'" in reasons["1008"]
    assert "same id as line" in reasons["1002"]
    crash = Defect.objects.get(external_id="1001")
    assert (crash.status, crash.severity, crash.priority, crash.component) == (
        "new",
        "blocker",
        "highest",
        "cart",
    )
    assert '2. press "pay"' in crash.description
    assert crash.found_in_release.version == "2.0"
    assert crash.created_at == dt.datetime(2021, 9, 30, 17, 20, tzinfo=dt.UTC)
    currency = Defect.objects.get(external_id="1002")
    assert (currency.status, currency.resolution, currency.fixed_in_release.version) == (
        "resolved",
        "fixed",
        "2.1",
    )
    assert set(Release.objects.filter(project=project).values_list("version", flat=True)) == {"2.0", "2.1"}
    assert sorted(report.releases_created) == ["2.0", "2.1"]


def test_import_synthesizes_history_by_the_documented_rules(project, manager):
    _import(project, manager)

    def moves(external_id):
        d = Defect.objects.get(external_id=external_id)
        rows = list(
            d.transitions.order_by("at", "id").values_list("from_status", "to_status", "resolution", "at")
        )
        assert d.status == rows[-1][1]
        return rows

    currency = moves("1002")
    assert [(a, b, r) for a, b, r, _ in currency] == [("", "new", ""), ("new", "resolved", "fixed")]
    assert currency[1][3] == dt.datetime(2021, 9, 3, 12, 30, tzinfo=dt.UTC)
    reopened = moves("1003")
    # No Resolved/Updated dates: created straight into reopened, no closure or reopen at an invented time.
    assert [(a, b) for a, b, _, _ in reopened] == [("", "reopened")]
    closed = moves("1004")
    assert [(a, b, r) for a, b, r, _ in closed] == [("", "new", ""), ("new", "closed", "duplicate")]
    patch = moves("1005")
    assert [b for _, b, _, _ in patch] == ["in_progress"]  # no Updated date: no invented move time


def test_second_import_updates_instead_of_duplicating(project, manager):
    _import(project, manager)
    changed = SMALL.replace(
        "Wrong currency symbol,1002,SHOP-2,Resolved,Minor", "Wrong currency sign,1002,SHOP-2,Resolved,Major"
    )
    changed = changed.replace(
        "Checkout crashes on empty cart,1001,SHOP-1,Open",
        "Checkout crashes on empty cart,1001,SHOP-1,Resolved",
    )
    changed = changed.replace("30/Sep/21 17:20,,2.0", "30/Sep/21 17:20,05/Oct/21 08:00,2.0")
    report = _import(project, manager, text=changed)
    assert (report.created, report.updated, report.unchanged) == (0, 2, 3)
    assert Defect.objects.count() == 5
    currency = Defect.objects.get(external_id="1002")
    assert (currency.title, currency.severity) == ("Wrong currency sign", "major")
    fields = set(DefectFieldChange.objects.filter(defect=currency).values_list("field", flat=True))
    assert fields == {"title", "severity", "priority"}
    crash = Defect.objects.get(external_id="1001")
    assert crash.status == "resolved"
    assert list(crash.transitions.values_list("to_status", flat=True)) == ["new", "resolved"]


def test_dry_run_writes_nothing(project, manager):
    report = _import(project, manager, dry_run=True)
    assert report.created == 5
    assert report.dry_run
    assert Defect.objects.count() == 0
    assert Release.objects.filter(project=project).count() == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("Title,Id\nx,1\n", "Summary"),
        ("Summary,Status\nx,Open\n", "Issue id"),
    ],
)
def test_fatal_problems_write_nothing(project, manager, text, message):
    with pytest.raises(JiraImportError, match=message):
        _import(project, manager, text=text)
    assert Defect.objects.count() == 0


def test_shortest_path_follows_allowed_moves():
    assert shortest_path("new", "in_progress") == ["triaged", "in_progress"]
    assert shortest_path("closed", "in_progress") == ["reopened", "in_progress"]
    assert shortest_path("new", "new") == []


def test_command_imports_and_refuses_unknown_project(project, manager, tmp_path):
    path = tmp_path / "small.csv"
    path.write_text(SMALL, encoding="utf-8")
    out = io.StringIO()
    call_command(
        "import_jira_csv", str(path), project="PAY", username=manager.username, no_progress=True, stdout=out
    )
    assert "5 created" in out.getvalue()
    assert "skipped line" in out.getvalue()
    with pytest.raises(CommandError, match="No project"):
        call_command("import_jira_csv", str(path), project="NOPE", no_progress=True)


def test_command_refuses_user_without_import_right(project, qa, tmp_path):
    path = tmp_path / "small.csv"
    path.write_text(SMALL, encoding="utf-8")
    with pytest.raises(CommandError, match="import"):
        call_command("import_jira_csv", str(path), project="PAY", username=qa.username, no_progress=True)
    assert Defect.objects.count() == 0


@pytest.mark.skipif(not HADOOP.exists(), reason="Hadoop dataset not present")
def test_hadoop_file_imports_fast_and_idempotently(project, manager):
    text = HADOOP.read_text(encoding="utf-8")
    started = time.monotonic()
    report = _import(project, manager, text=text)
    elapsed = time.monotonic() - started
    assert report.rows == 2503
    assert report.created + len(report.skipped) == 2503
    assert report.created >= 2500
    assert elapsed < 30, f"import took {elapsed:.1f}s"
    assert Defect.objects.filter(project=project).count() == report.created
    # every defect's status is its latest move's target
    for defect in Defect.objects.filter(project=project).order_by("?")[:50]:
        assert defect.transitions.order_by("at", "id").last().to_status == defect.status
    again = _import(project, manager, text=text)
    assert (again.created, again.updated) == (0, 0)
    assert DefectTransition.objects.filter(defect__project=project).count() == report.transitions


def test_command_progress_bar_is_drawn(project, manager, tmp_path):
    path = tmp_path / "small.csv"
    path.write_text(SMALL, encoding="utf-8")
    err = io.StringIO()
    call_command("import_jira_csv", str(path), project="PAY", stdout=io.StringIO(), stderr=OutputWrapper(err))
    assert "5/5" in err.getvalue()
