"""Gates that bind, in a real browser (issue 13): the move refused with its reason, the gate card following a
sign-off without "Evaluate now", stale marks appearing and clearing, the portfolio showing only current gates."""

import pytest
from playwright.sync_api import expect

from gates import services
from gates.models import ChecklistItem, GateCondition, QualityGate
from metrics import services as metric_services
from releases.models import Role
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ready(project):
    return factories.ReleaseFactory(project=project, version="3.0", status="ready")


@pytest.fixture
def signoff_gate(project):
    """The go-live gate with only a checklist item: it passes exactly when the item is signed."""
    gate = QualityGate.objects.create(
        project=project, name="Go-live sign-off", from_status="ready", to_status="released"
    )
    ChecklistItem.objects.create(gate=gate, text="Rollback plan reviewed", role=Role.RELEASE_MANAGER)
    return gate


def test_release_manager_sees_the_move_refused_with_the_reason(login, signoff_gate, ready, make_member):
    rm = make_member(Role.RELEASE_MANAGER)
    page = login(rm)
    page.set_viewport_size({"width": 390, "height": 844})
    # when the release manager moves the ready release to released without a go decision
    page.goto(f"/releases/{ready.pk}/edit/")
    page.select_option("#id_status", "released")
    page.click("#release-form button[type=submit]")
    # then the form says which gate refuses and why, keeps what was typed, and the release did not move
    alert = page.locator("#release-form [role=alert]").first
    expect(alert).to_contain_text("Go-live sign-off")
    expect(alert).to_contain_text("no go decision recorded")
    assert page.locator("#id_status").input_value() == "released"
    ready.refresh_from_db()
    assert ready.status == "ready"
    assert page.js_errors == []


def test_gate_card_follows_a_signoff_without_pressing_evaluate(login, signoff_gate, ready, make_member):
    rm = make_member(Role.RELEASE_MANAGER)
    services.gate_evaluate(gate=signoff_gate, release=ready, by=rm)
    page = login(rm)
    page.goto(f"/releases/{ready.pk}/gates/")
    card = page.locator(f"#gate-{signoff_gate.pk}")
    expect(card.locator(".gate-status")).to_have_text("failed")
    # when the item is signed off (htmx swaps the card)
    card.locator("form.sign-form input[name=comment]").fill("Reviewed with ops")
    card.locator("form.sign-form button").click()
    # then the card's status follows at once: passed, signed, and nobody pressed "Evaluate now"
    expect(card.locator(".gate-status")).to_have_text("passed")
    expect(card.locator("tr.checklist-item")).to_contain_text("signed")
    assert card.locator(".stale-mark").count() == 0
    # and revoking turns it back
    card.locator("form.revoke-form input[name=reason]").fill("Plan changed")
    card.locator("form.revoke-form button").click()
    expect(card.locator(".gate-status")).to_have_text("failed")
    assert page.js_errors == []


def test_stale_marks_appear_while_newer_evidence_exists_and_clear(
    login, signoff_gate, ready, project, make_member, monkeypatch
):
    GateCondition.objects.create(
        gate=signoff_gate, metric="blocking_open_defects", operator="lte", error_threshold=0, key=True
    )
    rm = make_member(Role.RELEASE_MANAGER)
    services.gate_evaluate(gate=signoff_gate, release=ready, by=rm)
    page = login(rm)
    page.goto(f"/releases/{ready.pk}/gates/")
    card = page.locator(f"#gate-{signoff_gate.pk}")
    expect(card.locator(".gate-status")).to_be_visible()
    assert card.locator(".stale-mark").count() == 0
    # given new evidence whose re-evaluation has not run yet (the worker is busy: nothing is enqueued)
    monkeypatch.setattr("metrics.services._enqueue_pending", lambda: None)
    factories.DefectFactory(project=project, found_in_release=ready, severity="blocker")
    metric_services.schedule_recompute(release_ids=[ready.pk])
    # then every page showing the gate status marks it stale
    page.reload()
    expect(card.locator(".stale-mark")).to_be_visible()
    page.goto(f"/releases/{ready.pk}/dashboard/")
    expect(page.locator("#gate-status-header .stale-mark")).to_be_visible()
    page.goto("/dashboards/")
    expect(page.locator(f'tr[data-release="{ready.pk}"] .stale-mark')).to_be_visible()
    # when the queued recompute runs (what the worker does), the gate is re-evaluated and the marks clear
    metric_services.run_pending_recomputes()
    page.reload()
    row = page.locator(f'tr[data-release="{ready.pk}"]')
    expect(row.locator(".gate-status")).to_have_text("failed")
    assert row.locator(".stale-mark").count() == 0
    page.goto(f"/releases/{ready.pk}/gates/")
    assert page.locator(f"#gate-{signoff_gate.pk} .stale-mark").count() == 0
    assert page.js_errors == []


def test_portfolio_shows_only_the_current_gates(login, project, signoff_gate, ready, make_member):
    # given a planning release whose next move is guarded by its own gate, and the ready release
    planning = factories.ReleaseFactory(project=project, version="4.0", status="planning")
    entry = QualityGate.objects.create(
        project=project, name="Code complete", from_status="planning", to_status="testing"
    )
    ChecklistItem.objects.create(gate=entry, text="Scope frozen", role=Role.RELEASE_MANAGER)
    rm = make_member(Role.RELEASE_MANAGER)
    services.gate_evaluate(gate=entry, release=planning, by=rm)
    services.signoff_create(item=signoff_gate.checklist_items.get(), release=ready, by=rm)
    page = login(rm)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/dashboards/")
    # then each row names only the gate guarding that release's next move, with its status
    early = page.locator(f'tr[data-release="{planning.pk}"] .gate-summary')
    expect(early).to_contain_text("Code complete")
    expect(early).to_contain_text("Planning → Testing")
    expect(early.locator(".gate-status")).to_have_text("failed")
    assert "Go-live" not in early.inner_text()
    late = page.locator(f'tr[data-release="{ready.pk}"] .gate-summary')
    expect(late).to_contain_text("Go-live sign-off")
    expect(late.locator(".gate-status")).to_have_text("passed")
    assert "Code complete" not in late.inner_text()
    assert page.js_errors == []
