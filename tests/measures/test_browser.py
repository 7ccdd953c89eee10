"""External evidence in a real browser: uploading reports and measures, browsing findings, custom keys, and the
risk policy page changing the score (with the old score kept by a snapshot from before the change)."""

import json

import pytest
from playwright.sync_api import expect

from measures.models import MeasureKey, MeasureUpload
from metrics.models import MetricSnapshot, PolicyVersion
from metrics.services import compute_for_release, snapshot_release
from tests import factories as f

from .samples import COBERTURA, SARIF_V1, sarif_v2

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits(page) -> None:
    """No horizontal scrolling of the whole page at the current width."""
    too_wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className)"""
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), too_wide


def test_release_evidence_page_uploads_coverage_and_sarif_and_lists_new_findings(
    login, project, tmp_path, qa
):
    # given a previous release with bandit's v1 findings (the baseline)
    old = f.ReleaseFactory(project=project, version="1.0")
    new = f.ReleaseFactory(project=project, version="1.1")
    from measures import services
    from qualitygov.uploads import upload_from_bytes

    services.sarif_ingest(release=old, upload=upload_from_bytes(json.dumps(SARIF_V1).encode()), by=qa)
    page = login(qa)
    page.goto(f"/releases/{new.pk}/evidence/")
    # a wrong format choice is refused and the form keeps what was chosen
    (tmp_path / "coverage.xml").write_bytes(COBERTURA)
    page.select_option("#id_kind", "coverage")
    page.select_option("#id_format", "k6")
    page.set_input_files("#id_file", str(tmp_path / "coverage.xml"))
    page.click("#upload-form button[type=submit]")
    expect(page.locator("#upload-form")).to_contain_text("Choose a coverage format")
    expect(page.locator("#id_kind")).to_have_value("coverage")
    expect(page.locator("#id_format")).to_have_value("k6")
    assert MeasureUpload.objects.count() == 1
    # when the coverage report goes up with the format told from the file
    page.select_option("#id_format", "")
    page.set_input_files("#id_file", str(tmp_path / "coverage.xml"))
    page.click("#upload-form button[type=submit]")
    expect(page.locator("ul.messages")).to_contain_text("line_coverage 85.5%")
    expect(page.locator("#measures tr[data-key=line_coverage]")).to_contain_text("85.50 %")
    # and the SARIF log of v2
    (tmp_path / "v2.sarif").write_text(json.dumps(sarif_v2()))
    page.select_option("#id_kind", "sarif")
    page.set_input_files("#id_file", str(tmp_path / "v2.sarif"))
    page.click("#upload-form button[type=submit]")
    expect(page.locator("#measures tr[data-key=new_findings_high]")).to_contain_text("1")
    # then the findings filter to the new high one, which links to its location in the repository
    page.select_option("#id_level", "error")
    page.select_option("#id_new", "1")
    page.click("#finding-filters button[type=submit]")
    rows = page.locator("#findings tbody tr")
    expect(rows).to_have_count(1)
    link = rows.first.locator("a.finding-location")
    expect(link).to_have_text("app/new.py:12")
    assert link.get_attribute("href") == "https://git.example.org/pay/blob/abc123/app/new.py#L12"
    # and a measure typed by hand is recorded
    page.select_option("#id_key", "p95_latency_ms")
    page.fill("#id_value", "240")
    page.click("#measure-form button[type=submit]")
    expect(page.locator("#measures tr[data-key=p95_latency_ms]")).to_contain_text("240 ms")
    # at 390 px the page still fits
    page.set_viewport_size({"width": 390, "height": 800})
    page.reload()
    _fits(page)
    assert not page.js_errors


def _add_bundle_size_key(page, key: str = "bundle_size_kb") -> None:
    """On the measure-keys page, fill its form with a "Bundle size" key in kB, lower is better, and submit it."""
    page.fill("#id_key", key)
    page.fill("#id_label", "Bundle size")
    page.fill("#id_unit", "kB")
    page.select_option("#id_direction", "lower")
    page.click("#key-form button[type=submit]")


def test_admin_defines_and_removes_a_custom_measure_key(login, project, admin):
    page = login(admin)
    page.goto(f"/projects/{project.key}/measures/")
    # a key that shadows a metric is refused and the form keeps the input
    _add_bundle_size_key(page, key="open_defects")
    expect(page.locator("#key-form")).to_contain_text("built-in metric or measure key")
    expect(page.locator("#id_label")).to_have_value("Bundle size")
    expect(page.locator("#id_direction")).to_have_value("lower")
    page.fill("#id_key", "bundle_size_kb")
    page.click("#key-form button[type=submit]")
    expect(page.locator("#keys tr[data-key=bundle_size_kb]")).to_contain_text("Bundle size")
    assert MeasureKey.objects.filter(
        project=project, key="bundle_size_kb", unit="kB", direction="lower"
    ).exists()
    page.set_viewport_size({"width": 390, "height": 800})
    _fits(page)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#keys tr[data-key=bundle_size_kb] button.danger").click()
    expect(page.locator("#keys tr[data-key=bundle_size_kb]")).to_have_count(0)
    assert not MeasureKey.objects.exists()


def test_a_custom_key_is_defined_recorded_charted_and_alerted_in_the_browser(login, project, release, admin):
    page = login(admin)
    page.goto(f"/projects/{project.key}/measures/")
    _add_bundle_size_key(page)
    expect(page.locator("#keys tr[data-key=bundle_size_kb]")).to_contain_text("Bundle size")
    # an alert rule on it
    page.goto(f"/projects/{project.key}/alerts/")
    page.select_option("#rule-form select[name=metric]", "bundle_size_kb")
    page.select_option("#rule-form select[name=direction]", "above")
    page.fill("#rule-form input[name=threshold]", "500")
    page.click("#rule-form button[type=submit]")
    expect(page.locator("#rules")).to_contain_text("bundle_size_kb")
    # record a value on the release
    page.goto(f"/releases/{release.pk}/evidence/")
    page.select_option("#id_key", "bundle_size_kb")
    page.fill("#id_value", "612")
    page.click("#measure-form button[type=submit]")
    expect(page.locator("#measures tr[data-key=bundle_size_kb]")).to_contain_text("612 kB")
    # the dashboard, recomputed, charts it with its unit and shows the alert it fired
    page.goto(f"/releases/{release.pk}/dashboard/")
    page.click("form[action$='/recompute/'] button[type=submit]")
    chart = page.locator("#chart-measure-bundle_size_kb")
    expect(chart.locator(".gtitle")).to_have_text("Bundle size over time")
    expect(chart.locator(".ytitle")).to_have_text("Bundle size (kB)")
    expect(page.locator("#measure-tiles [data-metric=bundle_size_kb]")).to_contain_text("612 kB")
    expect(page.locator("#active-alerts")).to_contain_text("bundle_size_kb")
    page.set_viewport_size({"width": 390, "height": 800})
    page.reload()
    expect(chart.locator(".gtitle")).to_have_text("Bundle size over time")
    _fits(page)
    assert not page.js_errors


def test_admin_changes_a_weight_the_score_follows_and_a_past_snapshot_keeps_the_old_score(
    login, project, release, admin
):
    # given a release whose test pass rate fails its indicator (1 passed of 2)
    run = f.TestRunFactory(release=release)
    f.TestResultFactory(run=run, release=release, status="passed")
    f.TestResultFactory(run=run, release=release, status="failed")
    # and a snapshot of its score taken before the policy changes
    snapshot_release(release=release)
    snapshot = MetricSnapshot.objects.get(release=release, key="release_risk_score")
    before = compute_for_release(release=release, keys=["release_risk_score"])["release_risk_score"]
    assert snapshot.value == before.value and before.details["policy_version"] == 0
    page = login(admin)
    page.goto(f"/projects/{project.key}/policy/")
    expect(page.locator("#policy-version")).to_contain_text("version 0")
    # a warn threshold on the wrong side is refused, and what was typed stays
    row = page.locator("#policy-table tbody tr").filter(
        has=page.locator("option[value=test_pass_rate]:checked")
    )
    row.locator("input[name$=warn]").fill("99.5")
    page.click("#policy-form button[type=submit]")
    expect(page.locator("body")).to_contain_text("warn threshold must be at most the pass threshold")
    expect(row.locator("input[name$=warn]")).to_have_value("99.5")
    assert not PolicyVersion.objects.exists()
    # when the weight of the test pass rate goes from 2 to 10
    row.locator("input[name$=warn]").fill("95")
    row.locator("input[name$=weight]").fill("10")
    page.fill("#id_comment", "tests matter more")
    page.click("#policy-form button[type=submit]")
    expect(page.locator("#policy-version")).to_contain_text("version 1")
    expect(page.locator("#policy-history tr[data-version='1']")).to_contain_text(admin.username)
    expect(page.locator("#policy-history tr[data-version='1']")).to_contain_text("tests matter more")
    # then the score is the weighted share with the new weight, and names the version it used
    weights = {row["key"]: row["weight"] for row in before.details["indicators"]}
    assert weights["test_pass_rate"] == 2
    weights["test_pass_rate"] = 10
    scores = {row["key"]: row["score"] for row in before.details["indicators"]}
    assert scores["test_pass_rate"] == 1  # 50% passed: fails its indicator
    expected = round(100 * sum(weights[k] * scores[k] for k in weights) / sum(weights.values()), 2)
    after = compute_for_release(release=release, keys=["release_risk_score"])["release_risk_score"]
    assert after.value == expected > before.value and after.details["policy_version"] == 1
    # and the snapshot from before the change keeps the old score, also when recomputed as of its instant
    snapshot.refresh_from_db()
    assert snapshot.value == before.value and snapshot.details["policy_version"] == 0
    old = compute_for_release(release=release, keys=["release_risk_score"], as_of=snapshot.as_of)
    assert old["release_risk_score"].value == before.value
    assert old["release_risk_score"].details["policy_version"] == 0
    # and the project's audit log names who changed the policy and what
    page.goto(f"/projects/{project.key}/audit/?action=policy")
    expect(page.locator("#audit-table")).to_contain_text("risk.test_pass_rate.weight")
    expect(page.locator("#audit-table")).to_contain_text(admin.username)
    page.goto(f"/projects/{project.key}/policy/")
    page.set_viewport_size({"width": 390, "height": 800})
    _fits(page)
    assert not page.js_errors


def test_viewer_sees_the_policy_but_cannot_change_it(login, project, viewer):
    page = login(viewer)
    page.goto(f"/projects/{project.key}/policy/")
    expect(page.locator("body")).to_contain_text("Only project admins change the policy.")
    expect(page.locator("#policy-form button[type=submit]")).to_have_count(0)
