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
