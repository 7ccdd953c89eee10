"""The economics of go/no-go in a real browser, on the demo data: a release manager records a decision on a demo
release and finds p, p', the expected costs and the break-even delay on the decide page, in the readiness PDF and
in the decision's API record."""

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect
from pypdf import PdfReader

from demo.data import DEMO_PASSWORD
from gates.models import Decision, QualityGate
from releases.models import Release

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_release_manager_decides_on_a_demo_release_with_the_economics_beside_it(page, login):
    # given the demo data (its synthetic track record and costs) and its release manager
    call_command("seed_demo", "--seed", "7", verbosity=0)
    release = Release.objects.get(project__key="PAY", status="ready")
    gate = QualityGate.objects.get(project__key="PAY", name="Release candidate -> Production")
    from django.contrib.auth import get_user_model

    login(get_user_model().objects.get(username="rm"), password=DEMO_PASSWORD)
    # when they open the decide page
    page.goto(f"/releases/{release.pk}/gates/{gate.pk}/decide/")
    section = page.locator("#economics")
    # then the economics are shown with real figures and the formula in words
    expect(section).to_have_attribute("data-shown", "yes")
    go_now = page.locator("#econ-go-now").inner_text()
    d_star = page.locator("#econ-d-star").inner_text()
    p = page.locator("#econ-p").inner_text()
    assert float(go_now) > 0 and p and d_star
    expect(page.locator("#economics-table tr[data-option=postpone_14]")).to_be_visible()
    expect(page.locator("#econ-formula")).to_contain_text("Break-even delay d*")
    # and at 390 px the section still fits the screen
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate(
        "document.querySelector('#economics').getBoundingClientRect().right <= window.innerWidth + 1"
    )
    page.set_viewport_size({"width": 1400, "height": 900})

    # when they record a no-go with a rationale
    page.check("input[name=decision][value=no_go]")
    page.fill("textarea[name=rationale]", "Expected cost of going now is above a short delay")
    page.click("#decision-form button[type=submit]")
    page.wait_for_url(f"**/releases/{release.pk}/gates/")
    decision = Decision.objects.get(release=release, gate=gate)
    # then the decision's API record holds what the decider saw
    record = page.request.get(f"/api/v1/decisions/{decision.pk}/").json()
    assert record["economics"]["shown"] is True
    assert f"{record['economics']['cost_go_now']:.2f}" == go_now
    assert f"{record['economics']['break_even_days']:.2f}" == d_star
    # and the readiness PDF carries the economics and what the decider saw
    pdf = page.request.get(f"/releases/{release.pk}/readiness.pdf")
    assert pdf.status == 200
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages)
    assert "Cost of going now or postponing" in text and "Break-even delay d* =" in text
    assert go_now in text and "The decider saw" in text
    assert not page.js_errors
