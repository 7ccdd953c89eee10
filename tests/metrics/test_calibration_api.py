"""The calibration and economics APIs and the economics section of the project policy: wiring, roles, as_of,
query bounds."""

import pytest

from metrics.models import PolicyVersion
from tests import factories as f

from .test_calibration import COSTS, DAY, T, history, make_bad, released

pytestmark = pytest.mark.django_db


def test_calibration_api_answers_bands_overall_and_auc_as_of(
    project, viewer, api_client_for, django_assert_max_num_queries
):
    # given the hand-built history (11 scored releases, AUC 0.75 as of T)
    history(project)
    client = api_client_for(viewer)
    # when a viewer asks for the calibration as of T, with the releases behind it
    with django_assert_max_num_queries(6):
        body = client.get(
            f"/api/v1/projects/{project.key}/calibration/", {"as_of": T.isoformat(), "releases": "1"}
        ).json()
    # then the figures are those of the contract's arithmetic
    assert body["auc"] == 0.75 and body["overall"]["n"] == 11 and body["overall"]["bad"] == 5
    assert [b["band"] for b in body["bands"]] == ["low", "medium", "high", "critical"]
    assert len(body["releases"]) == 12 and body["unscored"] == 1
    # and as of a day when no window had closed yet there is nothing: not enough history, no AUC
    early = client.get(f"/api/v1/projects/{project.key}/calibration/?as_of={(T - 100 * DAY).date()}").json()
    assert early["overall"] == {"n": 0, "bad": 0, "rate": None, "enough": False} and early["auc"] is None


def test_calibration_and_economics_refuse_non_members_and_bad_input(project, api_client_for):
    # given a user of another project
    other = f.ProjectFactory(key="OTHER")
    stranger = f.UserFactory(username="stranger")
    f.MembershipFactory(project=other, user=stranger, role="admin")
    release = f.ReleaseFactory(project=project, version="1.0")
    client = api_client_for(stranger)
    # then this project's calibration and its release's economics answer like missing ones
    assert client.get(f"/api/v1/projects/{project.key}/calibration/").status_code == 404
    assert client.get(f"/api/v1/releases/{release.pk}/economics/").status_code == 404
    # anonymous: refused
    assert api_client_for(None).get(f"/api/v1/projects/{project.key}/calibration/").status_code in (401, 403)
    # a future or broken as_of: 400 with a message
    member = f.UserFactory(username="member")
    f.MembershipFactory(project=project, user=member, role="viewer")
    bad = api_client_for(member).get(f"/api/v1/projects/{project.key}/calibration/?as_of=2099-01-01")
    assert bad.status_code == 400 and "future" in bad.json()["detail"]
    assert (
        api_client_for(member).get(f"/api/v1/releases/{release.pk}/economics/?as_of=junk").status_code == 400
    )


def test_economics_api_shows_costs_only_once_the_admin_sets_them(
    project, admin, manager, api_client_for, django_assert_max_num_queries
):
    # given the history and a release being decided
    history(project)
    release = f.ReleaseFactory(project=project, version="9.0", status="ready")
    url = f"/api/v1/releases/{release.pk}/economics/"
    # when nobody set costs: not shown, with the reason, and no cost figure
    body = api_client_for(manager).get(url).json()
    assert body["shown"] is False and body["cost_go_now"] is None and "costs" in body["reason"]
    # when a manager tries to set them: refused, nothing saved
    put = {"policy": {"economics": COSTS}}
    refused = api_client_for(manager).put(f"/api/v1/projects/{project.key}/policy/", put, format="json")
    assert refused.status_code == 403 and not PolicyVersion.objects.filter(project=project).exists()
    # when the admin sets them through the existing policy endpoint: a new audited version
    saved = api_client_for(admin).put(f"/api/v1/projects/{project.key}/policy/", put, format="json")
    assert saved.status_code == 200 and saved.json()["policy"]["economics"]["hotfix_cost"] == 5000
    assert PolicyVersion.objects.get(project=project).created_by == admin
    # then the release's economics show p, p', costs for d = 1, 3, 7, 14 and d*, in bounded queries
    with django_assert_max_num_queries(18):
        body = api_client_for(manager).get(url).json()
    assert body["shown"] is True
    assert [c["days"] for c in body["cost_postpone"]] == [1, 3, 7, 14]
    assert body["p"] is not None and body["p_prime"] == 0.3333 and body["break_even_days"] is not None
    assert body["calibration"]["overall"] == {"n": 11, "bad": 5, "rate": 0.4545}


@pytest.mark.parametrize(
    "economics, message",
    [
        ({"delay_cost_per_day": 0, "hotfix_cost": 1, "incident_cost": 1}, "above 0"),
        ({"delay_cost_per_day": -5}, "at least 0"),
        ({"hotfix_cost": "lots"}, "must be a number"),
        ({"bribe": 1}, "unknown field"),
        ({"currency": "EUROS-AND-CENTS"}, "at most 8"),
    ],
)
def test_bad_costs_are_refused_with_a_message_and_nothing_saved(
    project, admin, api_client_for, economics, message
):
    response = api_client_for(admin).put(
        f"/api/v1/projects/{project.key}/policy/", {"policy": {"economics": economics}}, format="json"
    )
    assert response.status_code == 400 and message in response.json()["detail"]
    assert not PolicyVersion.objects.filter(project=project).exists()


def test_project_dashboard_shows_the_calibration_table_chart_and_auc(project, viewer, client):
    # given the hand-built history (all of it has closed windows by now)
    history(project)
    client.force_login(viewer)
    # when the dashboard is shown
    body = client.get(f"/projects/{project.key}/dashboard/").content.decode()
    # then the table shows each band's n and bad, a rate only from 5 releases on, the AUC and the chart
    assert 'id="calibration-table"' in body and 'data-plotly-target="chart-calibration"' in body
    assert "not enough history yet (4 of 5)" in body  # the medium band: counts, no rate
    assert "AUC 0.75" in body
    assert "Observed bad rate (%)" in body and "Risk band at release date" in body


def test_project_dashboard_says_not_enough_history_without_a_figure(project, viewer, client):
    # given two released releases only, one bad
    for i, bad in enumerate((True, False)):
        release = released(project, f"0.{i}", at=T - (40 + i) * DAY, score=30)
        if bad:
            make_bad(release)
    client.force_login(viewer)
    body = client.get(f"/projects/{project.key}/dashboard/").content.decode()
    # then the AUC and the rates say "not enough history yet" with the counts, and no rate is shown
    assert "AUC: not enough history yet" in body and "(1 bad and 1 good scored releases" in body
    assert "not enough history yet (2 of 5)" in body
    assert "%</td>" not in body.split('id="calibration-table"')[1].split("</table>")[0]


def test_portfolio_ranks_active_releases_by_risk_and_prices_going_now_where_costs_are_set(
    project, admin, client, django_assert_max_num_queries
):
    # given a project with history and costs, and another without costs, each with active releases
    history(project)
    from metrics.services import policy_update

    policy_update(project=project, data={"economics": COSTS}, by=admin)
    risky = f.ReleaseFactory(project=project, version="10.0", status="ready")
    f.DefectFactory(project=project, found_in_release=risky, severity="blocker")
    calm = f.ReleaseFactory(project=project, version="10.1", status="testing")
    other = f.ProjectFactory(key="FREE")
    f.MembershipFactory(project=other, user=admin, role="viewer")
    free = f.ReleaseFactory(project=other, version="1.0", status="testing")
    from metrics.services import snapshot_project, snapshot_release

    for release in (risky, calm, free):
        snapshot_release(release=release)
    for p in (project, other):
        snapshot_project(project=p)
    client.force_login(admin)
    # when the portfolio is shown: stored figures, plus one policy read per project and one calibration (two
    # queries) per priced project
    with django_assert_max_num_queries(20):
        body = client.get("/dashboards/").content.decode()
    # then the riskier release comes first, releases of the priced project show the expected cost of going now
    # (in EUR, with d*), and the project without costs shows none
    assert body.index(f'data-release="{risky.pk}"') < body.index(f'data-release="{calm.pk}"')
    row = body.split(f'data-release="{risky.pk}"')[1].split("</tr>")[0]
    assert " EUR</span>" in row and "d* " in row
    free_row = body.split('data-release="', 3)[-1]
    assert "EUR" not in body.split('href="/projects/FREE/dashboard/"')[1].split("</tr>")[0]
    assert free_row  # the third row exists
