"""A QA lead uploads a JUnit report in the browser (release page and runs list) and lands on the run."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from testing import models as tm

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPORTS = Path(__file__).resolve().parents[2] / "corpus" / "reports"


def test_upload_junit_from_the_release_page_lands_on_the_run(login, release, tmp_path, qa):
    page = login(qa)
    # given a non-JUnit file first: refused with the API's message, typed input kept
    bad = tmp_path / "page.xml"
    bad.write_text("<html><body/></html>")
    page.goto(f"/releases/{release.pk}/")
    form = page.locator("#release-runs details.junit-upload")
    form.locator("summary").click()
    form.locator("input[type=file]").set_input_files(str(bad))
    form.locator("input[name=revision]").fill("abc123")
    form.locator("select[name=environment]").select_option("staging")
    form.locator("input[name=run_name]").fill("nightly jest")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/runs/upload/")
    expect(page.locator(".errorlist")).to_contain_text("Not a JUnit report: the root element is <html>")
    expect(page.locator("input[name=revision]")).to_have_value("abc123")
    expect(page.locator("input[name=run_name]")).to_have_value("nightly jest")
    expect(page.locator("select[name=environment]")).to_have_value("staging")
    assert not tm.TestRun.objects.exists()
    # when the real jest report is chosen and sent from the same page
    page.locator("input[type=file]").set_input_files(str(REPORTS / "jest" / "report.xml"))
    page.locator("[data-testid=junit-upload-form] button[type=submit]").click()
    # then the browser lands on the new run, with the counts jest printed
    page.wait_for_url("**/runs/*/")
    run = tm.TestRun.objects.get()
    assert page.url.endswith(f"/runs/{run.pk}/")
    assert (run.revision, run.environment, run.name) == ("abc123", "staging", "nightly jest")
    assert (run.tests, run.failed, run.skipped) == (8, 2, 2)
    expect(page.locator("body")).to_contain_text("8 tests, 4 passed, 2 failed")
    assert not page.js_errors


def test_upload_junit_from_the_runs_list_at_phone_width(login, release, page, qa):
    page.set_viewport_size({"width": 390, "height": 844})
    login(qa)
    page.goto("/runs/")
    form = page.locator("details.junit-upload")
    form.locator("summary").click()
    # the opened form fits the phone's width: every field and the button are on screen
    for field in ("select[name=release]", "input[type=file]", "input[name=revision]", "button[type=submit]"):
        box = form.locator(field).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, field
    form.locator("select[name=release]").select_option(str(release.pk))
    form.locator("input[type=file]").set_input_files(str(REPORTS / "pytest" / "report.xml"))
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/runs/*/")
    run = tm.TestRun.objects.get()
    assert (run.tests, run.flaky) == (12, 1)


def test_a_viewer_gets_no_form_and_a_403(login, release, page, viewer):
    login(viewer)
    page.goto(f"/releases/{release.pk}/")
    expect(page.locator("#release-runs")).to_be_visible()
    expect(page.locator("details.junit-upload")).to_have_count(0)
    response = page.goto(f"/runs/upload/?release={release.pk}")
    assert response.status == 403


def test_a_large_upload_shows_its_pending_state_then_links_to_the_run(
    login, release, page, settings, tmp_path, monkeypatch, qa
):
    from testing import ingest_async

    settings.QUALITYGOV_JUNIT_ASYNC_BYTES = 1000  # the jest report (about 3 kB) goes to the worker
    settings.QUALITYGOV_JUNIT_SPOOL_DIR = str(tmp_path)
    sent: list[int] = []
    monkeypatch.setattr(ingest_async, "_send", sent.append)  # the queue: the test plays the worker below
    page.set_viewport_size({"width": 390, "height": 844})
    login(qa)
    page.goto(f"/runs/upload/?release={release.pk}")
    page.locator("input[type=file]").set_input_files(str(REPORTS / "jest" / "report.xml"))
    page.locator("input[name=run_name]").fill("nightly, large")
    page.locator("[data-testid=junit-upload-form] button[type=submit]").click()
    # the browser lands on the upload's page, which shows it pending
    page.wait_for_url("**/runs/uploads/*/")
    status = page.locator("[data-testid=ingestion-status]")
    expect(status).to_contain_text("Queued")
    assert not tm.TestRun.objects.exists()
    # when the worker has ingested it, the polled status links to the run
    ingest_async.junit_run_queued(ingestion_id=sent[0])
    expect(status).to_contain_text("8 tests, 4 passed, 2 failed")
    status.get_by_role("link", name="Open the run").click()
    page.wait_for_url("**/runs/*/")
    run = tm.TestRun.objects.get()
    assert page.url.endswith(f"/runs/{run.pk}/") and run.name == "nightly, large"
    assert not page.js_errors
