"""Measure uploads over the API: stored values, idempotence, roles, refusals that leave nothing behind."""

import gzip
import json

import pytest

from measures.models import Finding, Measure, MeasureKey, MeasureUpload
from metrics.models import PendingRecompute
from tests.factories import ReleaseFactory

from .samples import COBERTURA, JACOCO, JTL, K6, LCOV, SARIF_V1, sarif_v2


@pytest.fixture
def qa(make_member, api_client_for):
    return api_client_for(make_member("qa"))


def _url(release, what: str) -> str:
    return f"/api/v1/releases/{release.pk}/{what}/"


def _values(body) -> dict:
    return {m["key"]: m["value"] for m in body["measures"]}


@pytest.mark.parametrize(
    ("data", "query", "ctype", "expected"),
    [
        (COBERTURA, "", "application/xml", {"line_coverage": 85.5, "branch_coverage": 75.0}),
        (JACOCO, "?format=jacoco", "text/xml", {"line_coverage": 75.0, "branch_coverage": 75.0}),
        (LCOV, "", "text/plain", {"line_coverage": 80.0, "branch_coverage": 50.0}),
    ],
)
def test_coverage_upload_stores_the_reports_totals(release, qa, data, query, ctype, expected):
    response = qa.post(_url(release, "coverage") + query, data=data, content_type=ctype)
    assert response.status_code == 201, response.content
    assert _values(response.json()) == expected
    assert {m.key: m.value for m in Measure.objects.filter(release=release)} == expected
    # and the release's metrics are due for a recompute
    assert PendingRecompute.objects.filter(release=release).exists()


def test_the_same_bytes_again_are_a_duplicate_and_store_nothing(release, qa):
    first = qa.post(_url(release, "coverage"), data=COBERTURA, content_type="application/xml")
    again = qa.post(
        _url(release, "coverage"),
        data=gzip.compress(COBERTURA),
        content_type="application/xml",
        HTTP_CONTENT_ENCODING="gzip",
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["duplicate"] is True and again.json()["upload"] == first.json()["upload"]
    assert _values(again.json()) == _values(first.json())
    assert Measure.objects.count() == 2 and MeasureUpload.objects.count() == 1


def test_an_older_report_sent_again_after_a_newer_one_counts_again(release, qa):
    qa.post(_url(release, "coverage"), data=COBERTURA, content_type="application/xml")
    qa.post(_url(release, "coverage"), data=LCOV, content_type="text/plain")
    third = qa.post(_url(release, "coverage"), data=COBERTURA, content_type="application/xml")
    assert third.status_code == 201 and MeasureUpload.objects.count() == 3


def test_multipart_upload_with_format_field(release, qa):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = qa.post(
        _url(release, "coverage"),
        data={"file": SimpleUploadedFile("lcov.info", LCOV), "format": "lcov"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert _values(response.json())["line_coverage"] == 80.0


def test_sarif_findings_are_new_against_the_previous_release(project, qa):
    # given release 1 with bandit's v1 findings
    old = ReleaseFactory(project=project, version="1.0")
    new = ReleaseFactory(project=project, version="1.1")
    first = qa.post(_url(old, "sarif"), data=json.dumps(SARIF_V1), content_type="application/sarif+json")
    assert first.status_code == 201, first.content
    # with no baseline, every high finding of the first release is new
    assert _values(first.json()) == {"findings_high_total": 1.0, "new_findings_high": 1.0}
    # when release 1.1 adds a high finding
    response = qa.post(_url(new, "sarif"), data=json.dumps(sarif_v2()), content_type="application/json")
    assert response.status_code == 201, response.content
    assert _values(response.json()) == {"findings_high_total": 2.0, "new_findings_high": 1.0}
    assert response.json()["summary"]["error"] == 2 and response.json()["summary"]["suppressed"] == 1
    # then the findings API lists the new one first, with its link
    listing = qa.get(_url(new, "findings") + "?new=true&level=error").json()
    assert listing["count"] == 1
    assert listing["results"][0]["rule_id"] == "B307"
    assert listing["results"][0]["link"].endswith("app/new.py#L12")
    assert qa.get(_url(new, "findings")).json()["count"] == 4


def test_a_new_report_of_one_tool_replaces_its_previous_findings_only(release, qa):
    qa.post(_url(release, "sarif"), data=json.dumps(SARIF_V1), content_type="application/json")
    ruff = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "ruff"}},
                "results": [{"ruleId": "S307", "level": "error", "message": {"text": "eval"}}],
            }
        ],
    }
    qa.post(_url(release, "sarif"), data=json.dumps(ruff), content_type="application/json")
    again = qa.post(_url(release, "sarif"), data=json.dumps(sarif_v2()), content_type="application/json")
    assert _values(again.json())["findings_high_total"] == 3.0
    assert qa.get(_url(release, "findings")).json()["count"] == 5
    assert Finding.objects.count() == 2 + 1 + 4


@pytest.mark.parametrize(
    ("data", "query", "expected"),
    [
        # p(95) 31.456 ms is cut to 31.45, as k6's own summary prints it
        (K6, "?format=k6", {"p95_latency_ms": 31.45, "error_rate": 3.0}),
        (JTL, "?format=jmeter", {"p95_latency_ms": 40.0, "error_rate": 25.0}),
    ],
)
def test_loadtest_upload(release, qa, data, query, expected):
    ctype = "application/json" if query.endswith("k6") else "text/csv"
    response = qa.post(_url(release, "loadtest") + query, data=data, content_type=ctype)
    assert response.status_code == 201, response.content
    assert _values(response.json()) == expected


def test_measure_api_accepts_one_or_a_list_and_custom_keys(project, release, qa, make_member, api_client_for):
    admin = api_client_for(make_member("admin"))
    created = admin.post(
        f"/api/v1/projects/{project.key}/measure-keys/",
        {"key": "bundle_size_kb", "label": "Bundle size", "unit": "kB", "direction": "lower"},
        format="json",
    )
    assert created.status_code == 201, created.content
    one = qa.post(_url(release, "measures"), {"key": "line_coverage", "value": 91.5}, format="json")
    assert one.status_code == 201 and _values(one.json()) == {"line_coverage": 91.5}
    many = qa.post(
        _url(release, "measures"),
        [{"key": "bundle_size_kb", "value": 420}, {"key": "error_rate", "value": 0.5}],
        format="json",
    )
    assert many.status_code == 201
    assert {m["key"]: (m["unit"], m["direction"]) for m in many.json()["measures"]} == {
        "bundle_size_kb": ("kB", "lower"),
        "error_rate": ("%", "lower"),
    }
    again = qa.post(
        _url(release, "measures"),
        [{"key": "error_rate", "value": 0.5}, {"key": "bundle_size_kb", "value": 420}],
        format="json",
    )
    assert again.status_code == 200 and again.json()["duplicate"] is True
    latest = {m["key"]: m["value"] for m in qa.get(_url(release, "measures")).json()["measures"]}
    assert (
        latest["bundle_size_kb"] == 420
        and latest["line_coverage"] == 91.5
        and latest["p95_latency_ms"] is None
    )


def test_measures_as_of_gives_the_latest_value_at_or_before_t(release, qa):
    import datetime as dt

    from django.utils import timezone

    qa.post(_url(release, "measures"), {"key": "line_coverage", "value": 70}, format="json")
    Measure.objects.update(at=timezone.now() - dt.timedelta(days=2))
    qa.post(_url(release, "measures"), {"key": "line_coverage", "value": 90}, format="json")
    yesterday = (timezone.now() - dt.timedelta(days=1)).isoformat()
    past = qa.get(_url(release, "measures"), {"as_of": yesterday}).json()["measures"]
    assert {m["key"]: m["value"] for m in past}["line_coverage"] == 70
    long_ago = qa.get(_url(release, "measures"), {"as_of": "2001-01-01"}).json()["measures"]
    assert {m["key"]: m["value"] for m in long_ago}["line_coverage"] is None


@pytest.mark.parametrize(
    ("what", "body", "ctype", "status", "code"),
    [
        ("coverage/", b"<coverage/>", "application/xml", 400, "no_totals"),
        ("coverage/", b'<!DOCTYPE x [<!ENTITY a "b">]><coverage/>', "application/xml", 400, "doctype"),
        ("coverage/", b"", "application/xml", 400, "empty"),
        ("coverage/", b"x", "image/png", 415, "unsupported_media_type"),
        ("coverage/?format=clover", COBERTURA, "application/xml", 400, "invalid"),
        ("coverage/", b"\x1f\x8bnot gzip at all", "application/gzip", 400, "bad_gzip"),
        ("sarif/", b"{}", "application/json", 400, "not_sarif"),
        ("loadtest/?format=jmeter", b"nope", "text/csv", 400, "wrong_format"),
    ],
)
def test_bad_uploads_are_4xx_and_leave_nothing(release, qa, what, body, ctype, status, code):
    response = qa.post(f"/api/v1/releases/{release.pk}/{what}", data=body, content_type=ctype)
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert MeasureUpload.objects.count() == 0 and Measure.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key": "nope", "value": 1}, "key"),
        ({"key": "line_coverage"}, "value"),
        ({"key": "line_coverage", "value": "abc"}, "value"),
        ([], "measures"),
        ([{"key": "error_rate", "value": 1}, {"key": "error_rate", "value": 2}], "key"),
    ],
)
def test_bad_measures_are_400(release, qa, body, field):
    response = qa.post(_url(release, "measures"), body, format="json")
    assert response.status_code == 400, response.content
    assert field in json.dumps(response.json())
    assert Measure.objects.count() == 0


def test_over_the_size_limit_is_413(release, qa, settings):
    settings.QUALITYGOV_MAX_UPLOAD_BYTES = 100
    response = qa.post(_url(release, "coverage"), data=COBERTURA, content_type="application/xml")
    assert response.status_code == 413 and MeasureUpload.objects.count() == 0


def test_roles_are_enforced(project, release, make_member, api_client_for):
    viewer = api_client_for(make_member("viewer"))
    outsider_project_release = release
    assert viewer.post(_url(release, "coverage"), data=LCOV, content_type="text/plain").status_code == 403
    assert (
        viewer.post(
            _url(release, "measures"), {"key": "line_coverage", "value": 1}, format="json"
        ).status_code
        == 403
    )
    assert viewer.get(_url(release, "findings")).status_code == 200
    qa = api_client_for(make_member("qa"))
    keys_url = f"/api/v1/projects/{project.key}/measure-keys/"
    assert qa.post(keys_url, {"key": "x_y", "label": "X"}, format="json").status_code == 403
    assert MeasureKey.objects.count() == 0
    stranger = api_client_for(make_member("admin", project_=ReleaseFactory().project, username="stranger"))
    assert stranger.get(_url(outsider_project_release, "findings")).status_code == 404
    assert stranger.post(_url(release, "coverage"), data=LCOV, content_type="text/plain").status_code == 404
    assert api_client_for(None).get(_url(release, "findings")).status_code in (401, 403)
    assert Measure.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"key": "open_defects", "label": "x"}, "reserved"),
        ({"key": "line_coverage", "label": "x"}, "reserved"),
        ({"key": "Bad-Key", "label": "x"}, "invalid"),
    ],
)
def test_custom_keys_cannot_shadow_built_in_keys(project, make_member, api_client_for, body, code):
    admin = api_client_for(make_member("admin"))
    response = admin.post(f"/api/v1/projects/{project.key}/measure-keys/", body, format="json")
    assert response.status_code == 400 and response.json()["code"] == code
    assert MeasureKey.objects.count() == 0


def test_findings_list_has_bounded_queries(release, qa, django_assert_max_num_queries):
    qa.post(_url(release, "sarif"), data=json.dumps(sarif_v2()), content_type="application/json")
    with django_assert_max_num_queries(8):
        assert qa.get(_url(release, "findings")).status_code == 200


def test_nul_characters_in_a_sarif_log_are_dropped_not_a_500(release, qa):
    doc = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "evil\u0000tool"}},
                "results": [{"ruleId": "R\u00001", "level": "error", "message": {"text": "a\u0000b"}}],
            }
        ],
    }
    response = qa.post(_url(release, "sarif"), data=json.dumps(doc), content_type="application/json")
    assert response.status_code == 201, response.content
    finding = Finding.objects.get()
    assert (finding.tool, finding.rule_id, finding.message) == ("eviltool", "R1", "ab")
