"""Issue 16, item 2: the go/no-go page keeps the rationale, the chosen decision and the waivers across
"Evaluate now" (which the page invites), and the gate editor keeps what was typed after a refusal."""

import datetime as dt

import pytest
from django.utils import timezone

from gates import services
from gates.models import Decision, GateEvaluation, QualityGate
from releases.models import Role
from tests.conftest import PASSWORD
from tests.gates.test_pages import evidence  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_evaluate_now_keeps_rationale_decision_and_waivers(client, gate, release, make_member, evidence):  # noqa: F811
    rm = make_member(Role.RELEASE_MANAGER)
    first = services.gate_evaluate(gate=gate, release=release, by=rm)
    client.login(username=rm.username, password=PASSWORD)
    cond = gate.conditions.get(metric="test_pass_rate")
    expires = (timezone.now() + dt.timedelta(days=7)).date().isoformat()
    typed = {
        "evaluation": first.pk,
        "decision": "go_with_waivers",
        "rationale": "Pilot customers only; the flaky suite is being fixed",
        f"waiver-condition-{cond.pk}-justification": "Flaky infrastructure, tracked in PAY-9",
        f"waiver-condition-{cond.pk}-owner": rm.username,
        f"waiver-condition-{cond.pk}-expires": expires,
        "evaluate_now": "1",
    }
    response = client.post(f"/releases/{release.pk}/gates/{gate.pk}/decide/", typed)
    html = response.content.decode()
    # then a new evaluation exists, the form points at it, and nothing typed is lost; no decision yet
    assert response.status_code == 200
    latest = GateEvaluation.objects.filter(gate=gate, release=release).latest("pk")
    assert latest.pk != first.pk
    assert f'name="evaluation" value="{latest.pk}"' in html
    assert "Pilot customers only; the flaky suite is being fixed" in html
    assert 'value="Flaky infrastructure, tracked in PAY-9"' in html
    assert f'value="{expires}"' in html
    assert 'value="go_with_waivers"' in html and "checked" in html.split('value="go_with_waivers"')[1][:40]
    assert not Decision.objects.exists()


def test_gate_editor_refusal_keeps_what_was_typed(client, project, gate, make_member):
    admin = make_member(Role.ADMIN)
    client.login(username=admin.username, password=PASSWORD)
    cond = gate.conditions.order_by("order").first()
    data = {
        "name": "RC gate, stricter",
        "description": "Typed before the refusal",
        "order": 1,
        "is_active": "on",
        "revision": gate.revision,
        "cond-TOTAL_FORMS": 1,
        "cond-INITIAL_FORMS": 1,
        "cond-0-id": cond.pk,
        "cond-0-metric": "test_pass_rate",
        "cond-0-operator": "gte",
        "cond-0-error_threshold": "95",
        "cond-0-warn_threshold": "80",  # looser than the error bound: refused
        "cond-0-missing_data": "fail",
        "item-TOTAL_FORMS": 0,
        "item-INITIAL_FORMS": 0,
    }
    response = client.post(f"/gates/{gate.pk}/edit/", data)
    html = response.content.decode()
    assert response.status_code == 400
    assert 'value="RC gate, stricter"' in html and "Typed before the refusal" in html
    assert 'value="80"' in html and 'value="95"' in html
    assert QualityGate.objects.get(pk=gate.pk).name == "RC gate"
