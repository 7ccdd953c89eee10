"""The Upload JUnit page without a browser: roles, the API's messages, limits, bounded queries."""

from django.core.files.uploadedfile import SimpleUploadedFile

from testing import models as tm

XML = b'<testsuite name="s"><testcase classname="A" name="ok"/><testcase classname="A" name="bad"><failure/></testcase></testsuite>'


def _post(client, release, data=XML, **fields):
    return client.post(
        "/runs/upload/",
        {"release": release.pk, "file": SimpleUploadedFile("r.xml", data), "environment": "test", **fields},
    )


def test_upload_stores_the_run_and_redirects_to_it(client, release, django_assert_max_num_queries, qa):
    client.force_login(qa)
    with django_assert_max_num_queries(40):
        response = _post(client, release, revision="r1", run_name="from the browser")
    run = tm.TestRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/runs/{run.pk}/"
    assert (run.tests, run.failed, run.revision, run.name) == (2, 1, "r1", "from the browser")


def test_refusals_show_the_api_message_and_keep_the_input(client, release, settings, qa):
    client.force_login(qa)
    response = _post(client, release, data=b'<!DOCTYPE x [<!ENTITY e "x">]><testsuite/>', revision="r2")
    assert response.status_code == 400
    assert b"DOCTYPE and entity declarations are not accepted" in response.content
    assert b'value="r2"' in response.content
    response = _post(client, release, environment="moon", run_name="kept")
    assert response.status_code == 400 and b'value="kept"' in response.content
    settings.QUALITYGOV_JUNIT_MAX_BYTES = 50
    response = _post(client, release)
    assert response.status_code == 413 and b"larger than the limit of 50 bytes" in response.content
    assert not tm.TestRun.objects.exists()


def test_roles(client, release, viewer):
    client.force_login(viewer)
    assert _post(client, release).status_code == 403
    assert client.get(f"/runs/upload/?release={release.pk}").status_code == 403
    assert not tm.TestRun.objects.exists()
    client.logout()
    assert client.get("/runs/upload/").status_code == 302  # to the login page


def test_a_large_report_goes_to_the_worker_and_its_page_links_to_the_run(
    client, release, settings, tmp_path, make_member, django_capture_on_commit_callbacks, qa
):
    from testing.ingest_async import junit_run_queued

    settings.QUALITYGOV_JUNIT_ASYNC_BYTES = 50
    settings.QUALITYGOV_JUNIT_SPOOL_DIR = str(tmp_path)
    client.force_login(qa)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = _post(client, release, revision="r9", run_name="big one")
    ingestion = tm.JUnitIngestion.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/runs/uploads/{ingestion.pk}/"
    assert len(queued) == 1 and not tm.TestRun.objects.exists()
    # pending: the page says so and polls its status fragment
    page = client.get(response["Location"])
    assert page.status_code == 200 and b"Queued" in page.content
    assert f'hx-get="/runs/uploads/{ingestion.pk}/status/"'.encode() in page.content
    # the worker's job, then the fragment links to the run and stops polling
    junit_run_queued(ingestion_id=ingestion.pk)
    run = tm.TestRun.objects.get()
    fragment = client.get(f"/runs/uploads/{ingestion.pk}/status/")
    assert f'href="/runs/{run.pk}/"'.encode() in fragment.content and b"hx-get" not in fragment.content
    assert b"2 tests, 1 passed, 1 failed" in fragment.content
    assert (run.revision, run.name) == ("r9", "big one")
    # someone outside the project sees nothing
    from tests.factories import ProjectFactory

    client.force_login(make_member("qa", project_=ProjectFactory(key="OTHER"), username="outsider"))
    assert client.get(f"/runs/uploads/{ingestion.pk}/").status_code == 404
    assert client.get(f"/runs/uploads/{ingestion.pk}/status/").status_code == 404


def test_a_failed_worker_ingestion_shows_the_message(client, release, settings, tmp_path, qa):
    from testing.ingest_async import junit_run_queued

    settings.QUALITYGOV_JUNIT_ASYNC_BYTES = 10
    settings.QUALITYGOV_JUNIT_SPOOL_DIR = str(tmp_path)
    client.force_login(qa)
    response = _post(client, release, data=b"<html><body>not a report at all</body></html>")
    ingestion = tm.JUnitIngestion.objects.get()
    junit_run_queued(ingestion_id=ingestion.pk)  # eager Celery already ran it; a second run leaves it alone
    fragment = client.get(f"/runs/uploads/{ingestion.pk}/status/", HTTP_HX_REQUEST="true")
    assert response.status_code == 302
    assert b"Failed" in fragment.content and b"Not a JUnit report" in fragment.content
    assert not tm.TestRun.objects.exists()
