"""Import fidelity on real data: an excerpt of the Hadoop Jira export (../shared/datasets/defects/gitbugs/; the
first 70 rows plus every Reopened row, descriptions cut to 200 characters). Closures and net flow after the import
match an independent computation straight from the CSV; leakage is null (the export does not say where a defect
was found); no closure is invented for Reopened rows; --timezone shifts naive times."""

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.management import call_command

from defects.jira_import import import_jira_csv, parse_jira_datetime
from defects.models import Defect, DefectTransition
from metrics.flow import defect_flow
from metrics.release_metrics import (
    closures_q,
    defect_closures_7d,
    defect_leakage,
    defect_net_flow_7d,
    open_defects,
)
from releases.models import Release

pytestmark = pytest.mark.django_db

EXCERPT = Path(__file__).parent / "data" / "hadoop_excerpt.csv"
WEEK = dt.timedelta(days=7)
RESOLVED = {"Resolved", "Closed", "Done", "Verified"}
OPEN = {"Open", "In Progress", "Patch Available", "Reopened"}


def _csv_rows():
    """The CSV read independently of the importer: (first affects version, status, created, resolved)."""
    out = []
    for row in csv.DictReader(io.StringIO(EXCERPT.read_text(encoding="utf-8"))):
        versions = [v.strip() for v in row["Affects Version/s"].split(",") if v.strip()]
        created = dt.datetime.strptime(row["Created"], "%d/%b/%y %H:%M").replace(tzinfo=dt.UTC)
        resolved = (
            dt.datetime.strptime(row["Resolved"], "%d/%b/%y %H:%M").replace(tzinfo=dt.UTC)
            if row["Resolved"]
            else None
        )
        out.append((versions[0] if versions else None, row["Status"], created, resolved))
    return out


@pytest.fixture
def imported(project, admin):
    report = import_jira_csv(project=project, text=EXCERPT.read_text(encoding="utf-8"), by=admin)
    assert report.created == 84 and not report.skipped
    return project


def _instants(rows):
    """Instants to compare at: just after every creation and resolution, and a week after each."""
    times = {t for _, _, c, r in rows for t in (c, r) if t is not None}
    return sorted({t + dt.timedelta(minutes=1) for t in times} | {t + WEEK for t in times})


def test_closures_and_net_flow_match_the_csv(imported):
    rows = _csv_rows()
    assert sum(1 for _, s, _, _ in rows if s == "Reopened") == 15
    releases = {r.version: r for r in Release.objects.filter(project=imported)}
    instants = _instants(rows)
    checked = 0
    for version in {v for v, _, _, _ in rows if v}:
        release = releases[version]
        mine = [r for r in rows if r[0] == version]
        for t in instants[:: max(1, len(instants) // 25)]:
            closures = sum(1 for _, s, _, r in mine if s in RESOLVED and r and t - WEEK < r <= t)
            arrivals = sum(1 for _, _, c, _ in mine if t - WEEK < c <= t)
            opened = sum(1 for _, s, c, r in mine if c <= t and not (s in RESOLVED and r and r <= t))
            assert defect_closures_7d(release=release, as_of=t).value == closures, (version, t)
            assert defect_net_flow_7d(release=release, as_of=t).value == arrivals - closures, (version, t)
            assert open_defects(release=release, as_of=t).value == opened, (version, t)
            checked += 1
    assert checked > 100


def test_project_flow_buckets_match_the_csv(imported):
    rows = _csv_rows()
    start = dt.datetime(2021, 7, 31, tzinfo=dt.UTC)
    end = dt.datetime(2021, 10, 31, 23, 59, tzinfo=dt.UTC)
    buckets = defect_flow(project=imported, start=start, end=end, bucket="week")
    backlog = sum(1 for _, s, c, r in rows if c <= start and not (s in RESOLVED and r and r <= start))
    for b in buckets:
        first = dt.date.fromisoformat(b["bucket"])
        last = first + dt.timedelta(days=6)
        opened = sum(1 for _, _, c, _ in rows if first <= c.date() <= last and start < c <= end)
        closed = sum(
            1 for _, s, _, r in rows if s in RESOLVED and r and first <= r.date() <= last and start < r <= end
        )
        backlog += opened - closed
        assert (b["opened"], b["closed"], b["reopened"]) == (opened, closed, 0), b
        assert b["net"] == opened - closed
        assert b["backlog"] == backlog


def test_reopened_rows_get_no_invented_closure_and_leakage_is_null(imported):
    reopened = Defect.objects.filter(project=imported, status="reopened")
    assert reopened.count() == 15
    moves = DefectTransition.objects.filter(defect__in=reopened)
    assert not moves.filter(closures_q()).exists()
    assert set(moves.values_list("from_status", "to_status")) == {("", "reopened")}
    assert not Defect.objects.filter(project=imported, found_in_environment__isnull=False).exists()
    for release in Release.objects.filter(project=imported):
        result = defect_leakage(release=release, as_of=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        assert result.value is None and result.n == 0


def test_environment_is_set_only_when_given(project, admin):
    import_jira_csv(project=project, text=EXCERPT.read_text(encoding="utf-8"), by=admin, environment="test")
    assert set(Defect.objects.filter(project=project).values_list("found_in_environment", flat=True)) == {
        "test"
    }


def test_timezone_option_reads_naive_times_in_that_zone(project, tmp_path):
    assert parse_jira_datetime("30/Sep/21 17:20") == dt.datetime(2021, 9, 30, 17, 20, tzinfo=dt.UTC)
    path = tmp_path / "export.csv"
    path.write_text(
        "Summary,Issue id,Status,Priority,Created\nSlow page,1,Open,Major,30/Sep/21 17:20\n", encoding="utf-8"
    )
    out = io.StringIO()
    call_command(
        "import_jira_csv",
        str(path),
        project=project.key,
        timezone="Europe/Berlin",
        no_progress=True,
        stdout=out,
    )
    assert "Europe/Berlin" in out.getvalue()
    assert Defect.objects.get(project=project).created_at == dt.datetime(2021, 9, 30, 15, 20, tzinfo=dt.UTC)
    out = io.StringIO()
    call_command("import_jira_csv", str(path), project=project.key, no_progress=True, stdout=out)
    assert "read as UTC" in out.getvalue() and "unknown" in out.getvalue()
    with pytest.raises(Exception, match="Unknown time zone"):
        call_command(
            "import_jira_csv", str(path), project=project.key, timezone="Mars/Olympus", no_progress=True
        )


def test_rows_with_their_dates_keep_the_full_history(project, admin):
    text = (
        "Summary,Issue id,Status,Priority,Resolution,Created,Resolved,Updated\n"
        "Flaky login,7,Reopened,Major,,01/Oct/21 09:00,03/Oct/21 10:00,05/Oct/21 11:00\n"
        "Old report,8,Resolved,Major,Fixed,01/Oct/21 09:00,,\n"
    )
    import_jira_csv(project=project, text=text, by=admin)
    reopened = Defect.objects.get(external_id="7").transitions.order_by("at", "id")
    assert [(m.from_status, m.to_status, m.at.day) for m in reopened] == [
        ("", "new", 1),
        ("new", "resolved", 3),
        ("resolved", "reopened", 5),
    ]
    # A resolved row without a Resolved date is created resolved: no closure at an invented time.
    old = Defect.objects.get(external_id="8").transitions.get()
    assert (old.from_status, old.to_status, old.resolution) == ("", "resolved", "fixed")
