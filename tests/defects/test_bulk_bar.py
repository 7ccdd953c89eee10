"""The board's bulk bar and filters without a browser (issue 16, item 1): nothing changes unless chosen, several
fields in one Apply, the selection kept, a summary naming the values, created-date filters, quick views that
keep the other filters, controls hidden for roles that cannot use them."""

import datetime as dt

import pytest
from django.utils import timezone

from defects import services
from defects.models import Defect, DefectFieldChange

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def _two(make_defect, make_member):
    dev = make_member("qa", username="dev")
    a = make_defect(title="Checkout crash", assignee=dev)
    b = make_defect(title="Login slow", assignee=dev)
    return dev, a, b


def test_apply_with_nothing_chosen_changes_nothing(client, qa, make_defect, make_member):
    # given two assigned defects, and a bar left at "no change" everywhere
    dev, a, b = _two(make_defect, make_member)
    client.force_login(qa)
    blank = {"ids": [a.pk], "assignee": "", "severity": "", "priority": "", "to": "", "release": ""}
    # when Apply is pressed
    response = client.post("/defects/bulk/", blank, **HTMX)
    # then it is refused with a message and the defect is untouched (still assigned, same severity)
    assert response.status_code == 400
    assert "Choose at least one change" in response.content.decode()
    a.refresh_from_db()
    assert a.assignee == dev and a.severity == "major" and a.version == 1
    assert not DefectFieldChange.objects.filter(defect=a).exists()


def test_one_apply_sets_assignee_severity_priority_and_moves(client, qa, make_defect, make_member):
    dev, a, b = _two(make_defect, make_member)
    make_member("qa", username="ann")
    client.force_login(qa)
    response = client.post(
        "/defects/bulk/?status=open",
        {
            "ids": [a.pk, b.pk],
            "assignee": "ann",
            "severity": "critical",
            "priority": "high",
            "to": "triaged",
            "resolution": "",
            "release": "",
            "original": "",
            "comment": "triage meeting",
        },
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    # the summary names every value set, and both rows stay ticked
    assert "Set assignee → ann, severity → Critical, priority → High, status → Triaged:" in html
    assert "2 changed" in html
    assert html.count("checked") >= 2
    for d in (a, b):
        d.refresh_from_db()
        assert (d.assignee.username, d.severity, d.priority, d.status) == (
            "ann",
            "critical",
            "high",
            "triaged",
        )


def test_only_the_chosen_field_changes(client, qa, make_defect, make_member):
    # the trap from the issue: ticking a row and setting only the priority must not unassign it
    dev, a, _ = _two(make_defect, make_member)
    client.force_login(qa)
    response = client.post("/defects/bulk/", {"ids": [a.pk], "assignee": "", "priority": "low"}, **HTMX)
    assert response.status_code == 200
    a.refresh_from_db()
    assert a.assignee == dev and a.priority == "low" and a.severity == "major"
    assert list(DefectFieldChange.objects.filter(defect=a).values_list("field", flat=True)) == ["priority"]


def test_unassign_is_an_explicit_choice(client, qa, make_defect, make_member):
    dev, a, _ = _two(make_defect, make_member)
    client.force_login(qa)
    response = client.post("/defects/bulk/", {"ids": [a.pk], "assignee": "!unassign"}, **HTMX)
    assert "Set assignee → nobody" in response.content.decode()
    a.refresh_from_db()
    assert a.assignee is None


def test_a_row_refused_by_one_step_keeps_none_of_its_changes(client, qa, make_defect, make_member):
    # given a closed defect (closed -> triaged is illegal) and an open one
    dev, a, b = _two(make_defect, make_member)
    services.defect_transition(defect=b, to="closed", by=qa, resolution="wont_fix")
    client.force_login(qa)
    response = client.post(
        "/defects/bulk/", {"ids": [a.pk, b.pk], "severity": "minor", "to": "triaged"}, **HTMX
    )
    html = response.content.decode()
    assert "1 changed" in html and "1 refused" in html and b.key in html
    b.refresh_from_db()
    assert b.severity == "major" and b.status == "closed"  # its severity change was rolled back too


def test_viewer_sees_no_bulk_new_or_import_and_is_still_refused(client, viewer, make_defect):
    defect = make_defect(title="Seen by a viewer")
    client.force_login(viewer)
    html = client.get("/defects/").content.decode()
    assert 'id="bulk-bar"' not in html and 'id="new-defect"' not in html and 'id="import-link"' not in html
    response = client.post("/defects/bulk/", {"ids": [defect.pk], "severity": "blocker"}, **HTMX)
    assert "1 refused" in response.content.decode()
    defect.refresh_from_db()
    assert defect.severity == "major"


def test_qa_sees_bulk_and_new_but_not_import(client, qa):
    client.force_login(qa)
    html = client.get("/defects/").content.decode()
    assert 'id="bulk-bar"' in html and 'id="new-defect"' in html and 'id="import-link"' not in html


def test_created_filters_today_week_and_range(client, qa, manager, make_defect):
    now = timezone.now()
    make_defect(title="Made today")
    make_defect(title="Made five days ago", created_at=now - dt.timedelta(days=5), by=manager)
    make_defect(title="Made last month", created_at=now - dt.timedelta(days=40), by=manager)
    client.force_login(qa)

    def titles(query):
        return {d.title for d in client.get(f"/defects/?{query}").context["rows"]}

    assert titles("created=today") == {"Made today"}
    assert titles("created=7d") == {"Made today", "Made five days ago"}
    start = (now - dt.timedelta(days=41)).date().isoformat()
    end = (now - dt.timedelta(days=3)).date().isoformat()
    assert titles(f"created_from={start}&created_to={end}") == {"Made five days ago", "Made last month"}
    assert titles("created=forever") == {"Made today", "Made five days ago", "Made last month"}


def test_quick_views_keep_project_and_other_filters(client, qa):
    client.force_login(qa)
    response = client.get("/defects/?project=PAY&component=cart&status=new")
    links = {v["id"]: v["url"] for v in response.context["quick_views"]}
    blockers = links["quick-open-blockers"]
    assert "project=PAY" in blockers and "component=cart" in blockers
    assert "status=open" in blockers and "status=new" not in blockers and "severity=blocker" in blockers
    assert "created=today" in links["quick-today"] and "project=PAY" in links["quick-today"]


def test_bulk_query_count_is_bounded(client, qa, make_defect, make_member, django_assert_max_num_queries):
    dev = make_member("qa", username="dev")
    ids = [make_defect(title=f"Row {i}").pk for i in range(8)]
    client.force_login(qa)
    # each row is locked, changed and audited on its own (savepoint per row): about 20 queries a row
    with django_assert_max_num_queries(30 + 8 * 20):
        client.post("/defects/bulk/", {"ids": ids, "assignee": dev.username, "severity": "minor"}, **HTMX)
    assert Defect.objects.filter(severity="minor", assignee=dev).count() == 8


def test_refused_jira_import_keeps_the_chosen_options(client, manager):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(manager)
    upload = SimpleUploadedFile("jira.csv", b"\xff\xfe not utf-8", content_type="text/csv")
    response = client.post(
        "/defects/import/",
        {
            "project": "PAY",
            "file": upload,
            "environment": "staging",
            "timezone": "Europe/Berlin",
            "dry_run": "on",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400 and "not UTF-8" in html
    assert 'value="Europe/Berlin"' in html
    assert '<option value="staging" selected>' in html
    assert 'name="dry_run"' in html and "checked" in html.split('name="dry_run"')[1][:60]
    assert not Defect.objects.exists()


@pytest.mark.parametrize("bad", ["abc", "99999999999999999999", "-1"])
def test_bulk_release_that_does_not_exist_is_400_and_writes_nothing(client, qa, make_defect, bad):
    defect = make_defect(title="Keep me")
    client.force_login(qa)
    response = client.post(
        "/defects/bulk/", {"ids": [defect.pk], "release": bad, "severity": "minor"}, **HTMX
    )
    assert response.status_code == 400 and "No release" in response.content.decode()
    defect.refresh_from_db()
    assert defect.severity == "major" and defect.version == 1


def test_bulk_release_is_named_by_its_version_in_the_summary(client, qa, project, make_defect):
    from tests.factories import ReleaseFactory

    release = ReleaseFactory(project=project, version="3.1.0")
    defect = make_defect(title="Move me")
    client.force_login(qa)
    response = client.post("/defects/bulk/", {"ids": [defect.pk], "release": release.pk}, **HTMX)
    assert "found in release → 3.1.0" in response.content.decode()
    defect.refresh_from_db()
    assert defect.found_in_release == release
