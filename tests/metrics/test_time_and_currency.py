"""Time parameters (one parser: a date means the end of the day for as_of/to, its start for from) and current
figures by default (a snapshot answers for now only while no evidence changed after it)."""

import datetime as dt

import pytest
from django.utils import timezone

from defects.services import defect_create
from metrics import services
from qualitygov.errors import DomainError
from qualitygov.timeparams import parse_as_of, parse_instant

from .histories import DAY, HOUR, T0, defect, incident

pytestmark = pytest.mark.django_db


def _rows(response):
    assert response.status_code == 200, response.content
    return {r["key"]: r for r in response.json()}


def test_parser_reads_dates_as_whole_days():
    assert parse_instant("2026-10-05", field="to") == dt.datetime(
        2026, 10, 5, 23, 59, 59, 999999, tzinfo=dt.UTC
    )
    assert parse_instant("2026-10-05", field="as_of") == parse_instant("2026-10-05", field="to")
    assert parse_instant("2026-10-05", field="from") == dt.datetime(2026, 10, 5, tzinfo=dt.UTC)
    assert parse_instant("2026-10-05T10:00:00+02:00", field="to") == dt.datetime(
        2026, 10, 5, 8, tzinfo=dt.UTC
    )
    assert parse_instant("2026-10-05T10:00:00", field="from") == dt.datetime(2026, 10, 5, 10, tzinfo=dt.UTC)
    now = dt.datetime(2026, 10, 5, 12, tzinfo=dt.UTC)
    assert parse_as_of("2026-10-05", now=now) == now  # today's end is not here yet: now
    with pytest.raises(DomainError):
        parse_as_of("2026-10-06", now=now)
    with pytest.raises(DomainError):
        parse_instant("05/10/2026", field="from")


def test_series_to_date_includes_the_whole_last_day(api_client_for, release, viewer):
    defect(release, created=T0.replace(hour=18))
    client = api_client_for(viewer)
    day = T0.date().isoformat()
    start = (T0 - 3 * DAY).date().isoformat()
    response = client.get(f"/api/v1/releases/{release.pk}/metrics/defect_flow/series/?from={start}&to={day}")
    assert response.status_code == 200
    points = {p["bucket"]: p for p in response.json()["points"]}
    assert points[day]["details"]["opened"] == 1
    assert points[day]["details"]["backlog"] == 1


def test_release_metrics_as_of_a_date_is_the_end_of_that_day(api_client_for, release, viewer):
    defect(release, created=T0.replace(hour=23, minute=30))
    client = api_client_for(viewer)
    rows = _rows(client.get(f"/api/v1/releases/{release.pk}/metrics/", {"as_of": T0.date().isoformat()}))
    assert rows["open_defects"]["value"] == 1
    assert rows["open_defects"]["as_of"].startswith(f"{T0.date().isoformat()}T23:59:59")


def test_project_metrics_honour_as_of(api_client_for, project, viewer):
    incident(project, started=T0, restored=T0 + 10 * HOUR)
    client = api_client_for(viewer)
    url = f"/api/v1/projects/{project.key}/metrics/"
    before = _rows(client.get(url, {"as_of": (T0 + HOUR).isoformat()}))
    assert before["mttr_hours"]["value"] is None
    assert before["mttr_hours"]["details"]["open_incidents"] == 1
    after = _rows(client.get(url, {"as_of": (T0 + DAY).date().isoformat()}))
    assert after["mttr_hours"]["value"] == 10.0
    assert after["mttr_hours"]["details"]["open_incidents"] == 0
    assert client.get(url, {"as_of": "not-a-date"}).status_code == 400
    assert client.get(url, {"as_of": "2999-01-01"}).status_code == 400


def test_default_metrics_answer_now_not_an_old_snapshot(api_client_for, release, qa):
    user = qa
    client = api_client_for(user)
    url = f"/api/v1/releases/{release.pk}/metrics/"
    # A backfilled snapshot from two days ago, then a defect recorded today.
    services.snapshot_release(release=release, as_of=timezone.now() - 2 * DAY)
    services.snapshot_project(project=release.project, as_of=timezone.now() - 2 * DAY)
    defect_create(
        project=release.project, title="Crash", by=user, found_in_release=release, severity="blocker"
    )
    rows = _rows(client.get(url))
    assert rows["open_defects"]["value"] == 1
    assert rows["blocking_open_defects"]["value"] == 1
    assert rows["open_defects"]["source"] == "fresh"
    assert rows["open_defects"]["updating"] is True  # the recompute the edit queued has not run yet
    assert timezone.now() - dt.datetime.fromisoformat(rows["open_defects"]["as_of"]) < dt.timedelta(minutes=1)
    # Once the recompute ran, the stored snapshot is current and gives the same figures.
    services.run_pending_recomputes()
    stored = _rows(client.get(url))
    assert stored["open_defects"]["source"] == "snapshot"
    assert stored["open_defects"]["updating"] is False
    for key, row in rows.items():
        assert stored[key]["value"] == row["value"], key


def test_untouched_old_snapshot_still_says_its_time(api_client_for, release, viewer):
    old = timezone.now() - 2 * DAY
    services.snapshot_release(release=release, as_of=old)
    services.snapshot_project(project=release.project, as_of=old)
    rows = _rows(api_client_for(viewer).get(f"/api/v1/releases/{release.pk}/metrics/"))
    assert rows["open_defects"]["source"] == "snapshot"
    assert dt.datetime.fromisoformat(rows["open_defects"]["as_of"]) == old


def test_project_metrics_drill_down_to_the_incidents_and_releases_they_count(api_client_for, project, viewer):
    incident(project, started=T0, restored=T0 + 10 * HOUR)
    incident(project, started=T0 + DAY)
    client = api_client_for(viewer)
    as_of = (T0 + 2 * DAY).isoformat()
    rows = _rows(client.get(f"/api/v1/projects/{project.key}/metrics/", {"as_of": as_of}))
    assert all(row["drilldown"] for row in rows.values())
    body = client.get(rows["mttr_hours"]["drilldown"]).json()
    assert body["parts"]["sample"]["count"] == rows["mttr_hours"]["n"] == 1
    assert body["parts"]["open_incidents"]["count"] == rows["mttr_hours"]["details"]["open_incidents"] == 1
    cfr = client.get(rows["change_failure_rate"]["drilldown"]).json()
    assert cfr["parts"]["denominator"]["count"] == rows["change_failure_rate"]["n"]
    assert client.get(f"/api/v1/projects/{project.key}/metrics/nope/items/").status_code == 400
