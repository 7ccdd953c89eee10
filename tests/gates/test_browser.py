"""Gate pages in a real browser: the release manager's whole job, and every gate page once."""

import os
import tempfile

import pytest
from playwright.sync_api import expect

from gates import services
from gates.models import Decision, GateEvaluation
from releases.models import Role
from tests import factories

# Screenshots of every gate page, to look at after a run.
SCREENSHOTS = os.environ.get("QUALITYGOV_SCREENSHOTS", tempfile.gettempdir())


def shot(name: str) -> str:
    return os.path.join(SCREENSHOTS, f"{name}.png")


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def release(project):
    """A ready release: the gate under test guards ready -> released, so it is the release's current gate (issue 13:
    the gates page shows the current gates first, other stages folded away as history)."""
    return factories.ReleaseFactory(project=project, version="2.4.0", status="ready")


@pytest.fixture
def failing_evidence(project, release):
    """Real evidence: 9 of 10 tests pass (test_pass_rate 90%), no defects."""
    run = factories.TestRunFactory(release=release)
    for i in range(10):
        factories.TestResultFactory(
            run=run,
            test_case=factories.TestCaseFactory(project=project, title=f"case {i}"),
            status="failed" if i == 0 else "passed",
        )


def test_release_manager_evaluates_sees_why_records_go_with_waivers_and_prints(
    login, gate, release, make_member, failing_evidence, rm
):
    # given a release manager on the release's gates page
    make_member(Role.QA, username="qa_owner")
    page = login(rm)
    page.goto(f"/releases/{release.pk}/gates/")
    # when they evaluate the gate
    card = page.locator(f"#gate-{gate.pk}")
    card.locator("button.evaluate-button").click()
    # then the card is swapped in place (htmx) and shows it failed and why
    expect(card.locator(".gate-status")).to_have_text("failed")
    expect(card.locator(".messages")).to_contain_text("evaluated: Failed")
    row = card.locator('tr.condition-row[data-metric="test_pass_rate"]')
    assert row.get_attribute("data-outcome") == "failed" and "90" in row.inner_text()
    assert card.locator('tr.checklist-row[data-outcome="failed"]').count() == 1
    page.screenshot(path=shot("gates_release"), full_page=True)

    # when they open the decision page and record go-with-waivers, one waiver per failure
    card.locator("a.decide-link").click()
    page.wait_for_url(f"**/releases/{release.pk}/gates/{gate.pk}/decide/")
    assert page.locator("#decide-status").inner_text() == "failed"
    page.check("input[name=decision][value=go_with_waivers]")
    page.fill("textarea[name=rationale]", "Pilot rollout; failing test is a known infra flake")
    rows = page.locator("tr.waiver-row")
    assert rows.count() == 2
    for i in range(2):
        rows.nth(i).locator("input[type=text]").fill(f"Accepted risk {i}")
        rows.nth(i).locator("select").select_option("qa_owner")
    page.screenshot(path=shot("gates_decide"), full_page=True)
    page.click("#decision-form button[type=submit]")
    page.wait_for_url(f"**/releases/{release.pk}/gates/")
    # then the decision is in force with its waivers
    decision = Decision.objects.get()
    assert decision.decision == "go_with_waivers" and decision.waivers.count() == 2
    assert "Go with waivers" in page.locator(f"#gate-{gate.pk} .decision-current").inner_text()

    # when they open the readiness report / then it is dated and signed by the decider, with a PDF link
    page.goto(f"/releases/{release.pk}/readiness/")
    text = page.locator("article.readiness").inner_text()
    assert "Go with waivers" in text and rm.username in text and "Accepted risk 0" in text
    assert page.locator("#pdf-link").get_attribute("href").endswith("readiness.pdf")
    page.screenshot(path=shot("gates_readiness"), full_page=True)
    with page.expect_download() as download:
        page.click("#pdf-link")
    assert download.value.suggested_filename == f"readiness-PAY-{release.version}.pdf"
    assert page.js_errors == []


def test_wrong_role_sees_no_decision_form_and_is_refused(login, gate, release, failing_evidence, admin):
    page = login(admin)
    page.goto(f"/releases/{release.pk}/gates/{gate.pk}/decide/")
    assert "Only a release manager" in page.locator("#decision-form").inner_text()
    assert page.locator("#decision-form button[type=submit]").is_disabled()
    assert page.js_errors == []


def test_sign_off_and_revoke_in_the_browser(login, gate, release, rm):
    page = login(rm)
    page.goto(f"/releases/{release.pk}/gates/")
    item = page.locator(f"tr.checklist-item[data-item='{gate.checklist_items.get().pk}']")
    item.locator("input[name=comment]").fill("Rollback rehearsed on staging")
    item.locator("form.sign-form button").click()
    expect(item).to_contain_text("Rollback rehearsed on staging")
    item.locator("input[name=reason]").fill("Staging was not prod-like")
    item.locator("form.revoke-form button").click()
    expect(item).to_contain_text("not signed")
    item.locator("summary").click()
    assert (
        "revoked by release_manager_pay" in item.inner_text()
        and "Staging was not prod-like" in item.inner_text()
    )
    assert page.js_errors == []


def test_gate_index_and_editor(login, project, gate, admin):
    page = login(admin)
    page.goto("/gates/")
    assert "RC gate" in page.locator(f"#gate-{gate.pk}").inner_text()
    page.screenshot(path=shot("gates_index"), full_page=True)
    page.locator(f"#gate-{gate.pk} a", has_text="Edit").click()
    page.wait_for_url(f"**/gates/{gate.pk}/edit/")
    page.screenshot(path=shot("gates_editor"), full_page=True)
    # add a condition in the first blank row
    blank = page.locator("tr.condition-form").nth(3)
    blank.locator("select[name$=metric]").select_option("flaky_test_rate")
    blank.locator("select[name$=operator]").select_option("lte")
    blank.locator("input[name$=error_threshold]").fill("5")
    blank.locator("input[name$=warn_threshold]").fill("2")
    page.click("#gate-form button[type=submit]")
    page.wait_for_url("**/gates/#gate-*")
    gate.refresh_from_db()
    assert gate.revision == 2 and gate.conditions.filter(metric="flaky_test_rate").exists()
    assert page.js_errors == []


def test_evaluation_detail_and_audit_log(login, gate, release, failing_evidence, rm):
    first = services.gate_evaluate(gate=gate, release=release, by=rm)
    services.signoff_create(item=gate.checklist_items.get(), release=release, by=rm, comment="ok")
    # (issue 13: the sign-off itself evaluated the gate; that evaluation shows what changed since the first)
    second = GateEvaluation.objects.filter(gate=gate, release=release).first()
    assert second.requested_via == "signoff"
    page = login(rm)
    page.goto(f"/evaluations/{second.pk}/")
    changes = page.locator("#changes").inner_text()
    assert f"evaluation {first.pk}" in changes and "Rollback plan reviewed" in changes
    page.screenshot(path=shot("gates_evaluation"), full_page=True)
    page.goto(f"/projects/{release.project.key}/audit/")
    page.select_option("#f-action", "signoff.")
    page.click("#audit-filters button[type=submit]")
    page.wait_for_url("**action=signoff.*")
    assert page.locator("#audit-table tbody tr").count() == 1
    page.screenshot(path=shot("gates_audit"), full_page=True)
    assert page.js_errors == []


def test_release_page_loads_the_gate_panel(login, gate, release, failing_evidence, rm):
    services.gate_evaluate(gate=gate, release=release, by=rm)
    page = login(rm)
    page.goto(f"/releases/{release.pk}/")
    page.wait_for_selector("#release-gates .current-gates")
    assert page.locator("#release-gates .gate-summary .gate-status").inner_text() == "failed"
    page.locator("#release-gates").screenshot(path=shot("gates_panel"))
    assert page.js_errors == []
