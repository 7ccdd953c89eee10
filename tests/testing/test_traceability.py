"""The traceability matrix: the contract's latest-result rule and the gap filters, on page, CSV and API."""

import datetime as dt

import pytest
from django.utils import timezone

from testing.selectors import latest_results, traceability_matrix
from tests import factories as f

T0 = timezone.now() - dt.timedelta(days=1)


def _result(release, case, status, at, run=None):
    run = run or f.TestRunFactory(release=release, started_at=at, finished_at=at)
    return f.TestResultFactory(run=run, release=release, test_case=case, status=status, finished_at=at)


def test_latest_result_is_greatest_finished_at_then_greatest_id(project, release):
    # given a case failing at T0+1h, and two results at the same later time: passed (lower id), failed (higher id)
    case = f.TestCaseFactory(project=project)
    _result(release, case, "failed", T0)
    _result(release, case, "passed", T0 + dt.timedelta(hours=2))
    tie_winner = _result(release, case, "failed", T0 + dt.timedelta(hours=2))
    # then the latest is the tie's higher id
    [latest] = list(latest_results(release_ids=[release.pk], test_case_ids=[case.pk]))
    assert latest.pk == tie_winner.pk and latest.status == "failed"


def test_latest_result_is_per_release(project, release):
    other = f.ReleaseFactory(project=project)
    case = f.TestCaseFactory(project=project)
    _result(release, case, "failed", T0)
    _result(other, case, "passed", T0 + dt.timedelta(hours=1))
    latest = {r.release_id: r.status for r in latest_results(test_case_ids=[case.pk])}
    assert latest == {release.pk: "failed", other.pk: "passed"}


@pytest.fixture
def matrix(project, release):
    """REQ-1 verified; REQ-2 no tests; REQ-3 failing (latest), REQ-4 one case not run + blocking defect;
    REQ-5 fixed later (older failure, newer pass); REQ-6 out of scope."""
    reqs = {}
    for i in range(1, 7):
        reqs[i] = f.RequirementFactory(project=project, key=f"REQ-{i}")
        if i != 6:
            f.in_scope(reqs[i], release)
    c1, c3, c4a, c4b, c5 = (
        f.TestCaseFactory(project=project, title=t) for t in ("c1", "c3", "c4a", "c4b", "c5")
    )
    f.link(c1, reqs[1])
    f.link(c3, reqs[3])
    f.link(c4a, reqs[4])
    f.link(c4b, reqs[4])
    f.link(c5, reqs[5])
    _result(release, c1, "passed", T0)
    _result(release, c3, "passed", T0)
    _result(release, c3, "error", T0 + dt.timedelta(hours=1))
    _result(release, c4a, "passed", T0)
    _result(release, c5, "failed", T0)
    _result(release, c5, "passed", T0 + dt.timedelta(hours=1))
    blocker = f.DefectFactory(project=project, severity="blocker", found_in_release=release)
    blocker.requirements.add(reqs[4])
    minor_closed = f.DefectFactory(project=project, severity="critical", status="closed", resolution="fixed")
    minor_closed.requirements.add(reqs[1])
    return reqs


@pytest.mark.parametrize(
    ("gap", "keys"),
    [
        ("", ["REQ-1", "REQ-2", "REQ-3", "REQ-4", "REQ-5"]),
        ("no_tests", ["REQ-2"]),
        ("failing", ["REQ-3"]),
        ("not_run", ["REQ-4"]),
        ("blocking", ["REQ-4"]),
    ],
)
def test_gap_filters_select_the_right_requirements(matrix, release, gap, keys):
    rows = traceability_matrix(release=release, gap=gap)
    assert [r.requirement.key for r in rows] == keys


def test_row_states_follow_the_contract(matrix, release):
    states = {r.requirement.key: (r.state, r.verified) for r in traceability_matrix(release=release)}
    assert states == {
        "REQ-1": ("verified", True),
        "REQ-2": ("no_tests", False),
        "REQ-3": ("failing", False),
        "REQ-4": ("not_run", False),
        "REQ-5": ("verified", True),
    }


def test_closed_defects_are_not_open_defects_of_a_row(matrix, release):
    rows = {r.requirement.key: r for r in traceability_matrix(release=release)}
    assert rows["REQ-1"].open_defects == [] and len(rows["REQ-4"].open_defects) == 1


@pytest.mark.parametrize("n", [3, 15])
def test_matrix_is_a_constant_number_of_queries(project, release, django_assert_max_num_queries, n):
    for i in range(n):
        req = f.RequirementFactory(project=project)
        f.in_scope(req, release)
        for status in ("passed", "failed"):
            case = f.TestCaseFactory(project=project)
            f.link(case, req)
            _result(release, case, status, T0 + dt.timedelta(minutes=i))
        f.DefectFactory(project=project).requirements.add(req)
    with django_assert_max_num_queries(4):
        rows = traceability_matrix(release=release)
        assert len(rows) == n


def test_matrix_page_csv_and_api_agree(matrix, release, client, api_client_for, viewer):
    user = viewer
    client.force_login(user)
    page = client.get(f"/releases/{release.pk}/traceability/?gap=failing")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-requirement="REQ-3"' in body and 'data-requirement="REQ-1"' not in body
    csv = client.get(f"/releases/{release.pk}/traceability/?format=csv&gap=no_tests")
    assert csv["Content-Type"].startswith("text/csv")
    lines = b"".join(csv.streaming_content).decode().strip().splitlines()
    assert (
        lines[0].startswith("requirement,title,state") and len(lines) == 2 and lines[1].startswith("REQ-2,")
    )
    api = api_client_for(user).get(f"/api/v1/releases/{release.pk}/traceability/?gap=blocking").json()
    assert [r["requirement"]["key"] for r in api["rows"]] == ["REQ-4"]
    assert api["summary"]["no_tests"] == 1 and api["summary"]["verified"] == 2
    bad = api_client_for(user).get(f"/api/v1/releases/{release.pk}/traceability/?gap=nope")
    assert bad.status_code == 400


def test_csv_neutralises_formulas_in_titles(project, release, client, viewer):
    req = f.RequirementFactory(project=project, key="REQ-1", title='=HYPERLINK("http://x")')
    f.in_scope(req, release)
    client.force_login(viewer)
    response = client.get(f"/releases/{release.pk}/traceability/?format=csv")
    content = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK" in content
