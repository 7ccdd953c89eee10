"""The economics of go/no-go beside every decision: the decide page, the readiness report, and the decision record
(what the decider saw), over the API too."""

import pytest

from gates.models import Decision
from gates.services import decision_record, gate_create
from metrics.services import policy_update
from tests import factories as f
from tests.metrics.test_calibration import COSTS, history

pytestmark = pytest.mark.django_db


@pytest.fixture
def priced(project, admin):
    """The hand-built history (p' = 1/3, overall 5/11) and the project's costs."""
    history(project)
    policy_update(project=project, data={"economics": COSTS}, by=admin)
    return project


@pytest.fixture
def go_live(priced, admin):
    return gate_create(
        project=priced,
        by=admin,
        name="Go-live",
        conditions=[{"metric": "blocking_open_defects", "operator": "lte", "error_threshold": 0}],
    )


def test_decision_stores_the_economics_the_decider_saw(priced, go_live, rm, api_client_for):
    # given a ready release with no evidence (its risk score is that of all-no-data indicators)
    release = f.ReleaseFactory(project=priced, version="9.9", status="ready")
    # when a release manager records a decision
    decision = decision_record(release=release, gate=go_live, decision="go", rationale="Fine", by=rm)
    # then the decision holds p, p', the costs and d*, computed from the calibration and costs of that moment
    econ = Decision.objects.get(pk=decision.pk).economics
    assert econ["shown"] is True and econ["p_prime"] == 0.3333
    assert [c["days"] for c in econ["cost_postpone"]] == [1, 3, 7, 14]
    assert econ["calibration"]["overall"]["n"] == 11 and econ["formula"].startswith(
        "Expected cost of going now"
    )
    # and the decision's API record answers them
    body = api_client_for(rm).get(f"/api/v1/decisions/{decision.pk}/").json()
    assert body["economics"]["cost_go_now"] == econ["cost_go_now"]
    assert body["economics"]["break_even_days"] == econ["break_even_days"]
    # and so does the verdict API (CI), beside the decision in force
    verdict = api_client_for(rm).get(f"/api/v1/releases/{release.pk}/gates/{go_live.pk}/verdict/").json()
    assert verdict["decision"]["economics"]["cost_go_now"] == econ["cost_go_now"]
    assert verdict["decision"]["economics"]["p"] == econ["p"]


def test_decide_page_and_readiness_report_show_the_economics_with_the_formula(
    priced, go_live, rm, client, django_assert_max_num_queries
):
    release = f.ReleaseFactory(project=priced, version="9.8", status="ready")
    client.force_login(rm)
    with django_assert_max_num_queries(32):
        page = client.get(f"/releases/{release.pk}/gates/{go_live.pk}/decide/")
    body = page.content.decode()
    assert page.status_code == 200 and 'id="economics" data-shown="yes"' in body
    assert (
        "Break-even delay d*" in body
        and "Postpone 14 days" in body
        and "Expected cost of going now = p" in body
    )
    report = client.get(f"/releases/{release.pk}/readiness/").content.decode()
    assert 'id="readiness-economics"' in report and "Break-even delay d* =" in report


def test_decide_page_says_why_the_economics_are_not_shown(project, rm, admin, client):
    # given no costs and no history
    gate = gate_create(
        project=project,
        by=admin,
        name="Go-live",
        conditions=[{"metric": "blocking_open_defects", "operator": "lte", "error_threshold": 0}],
    )
    release = f.ReleaseFactory(project=project, version="1.0", status="ready")
    client.force_login(rm)
    body = client.get(f"/releases/{release.pk}/gates/{gate.pk}/decide/").content.decode()
    # then the section says so and gives no figure
    assert 'data-shown="no"' in body and "sets no delay, hotfix and incident costs" in body
    assert 'id="econ-go-now"' not in body
