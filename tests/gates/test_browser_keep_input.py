"""Issue 16's lost-input trap on the go/no-go page, in a real browser: "Evaluate now" keeps the rationale,
the chosen decision and the waivers typed so far."""

import pytest
from playwright.sync_api import expect

from gates import services
from gates.models import Decision, GateEvaluation
from releases.models import Role
from tests.gates.test_browser import failing_evidence  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_evaluate_now_keeps_rationale_and_waivers(login, gate, release, make_member, failing_evidence):  # noqa: F811
    rm = make_member(Role.RELEASE_MANAGER)
    services.gate_evaluate(gate=gate, release=release, by=rm)
    page = login(rm)
    page.goto(f"/releases/{release.pk}/gates/{gate.pk}/decide/")
    page.check("input[name=decision][value=go_with_waivers]")
    page.fill("#id_rationale", "Pilot customers only")
    row = page.locator("#waivers tr.waiver-row[data-kind=condition]").first
    row.locator("input[name$=justification]").fill("Flaky infrastructure")
    row.locator("select[name$=owner]").select_option(rm.username)
    before = GateEvaluation.objects.count()
    page.click("#evaluate-now")
    expect(page.locator(".messages")).to_contain_text("evaluated")
    assert GateEvaluation.objects.count() == before + 1
    expect(page.locator("#id_rationale")).to_have_value("Pilot customers only")
    expect(page.locator("input[name=decision][value=go_with_waivers]")).to_be_checked()
    row = page.locator("#waivers tr.waiver-row[data-kind=condition]").first
    expect(row.locator("input[name$=justification]")).to_have_value("Flaky infrastructure")
    expect(row.locator("select[name$=owner]")).to_have_value(rm.username)
    assert not Decision.objects.exists()
    assert page.js_errors == []
