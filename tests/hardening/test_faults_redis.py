"""Redis down: the app runs on a Redis server this test started, which it kills and later starts again.

While Redis is down every page and API call of the daily work answers normally and keeps its writes, the
recompute requests those writes make are recorded in the database (PendingRecompute) instead of being lost,
and /healthz says `degraded` with 503. When Redis is back, /healthz says `ok`, new work is queued in Redis
again, and a real worker (or, without PostgreSQL, the sweep task run in-process) recomputes what was asked
for while Redis was down, with the right values.
"""

from __future__ import annotations

import time

import kombu.pools
import pytest
from django.db import connection
from django.test import Client

from defects.models import Defect
from gates import services as gate_services
from gates.models import GateEvaluation
from metrics.models import MetricSnapshot, PendingRecompute, Scope
from testing import models as testing_models
from tests.conftest import PASSWORD

from .faultkit import ThrowawayRedis, Worker, junit_report, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

# A request with Redis down may spend a moment finding out (connect refused, a short publish retry), no more.
SLOW = 5.0
PASSED, FAILED = 3, 1


def _reset_celery_connections(app) -> None:
    # The app's pools come from kombu's process-wide registry, keyed by broker: closing one closes it for every
    # later user of that broker too (eager tasks borrow a producer from it), so close them all and empty the
    # registry; the next use opens fresh ones.
    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
    if hasattr(app._local, "backend"):
        del app._local.backend


@pytest.fixture
def redis_server(settings):
    """Point the app (cache, Celery broker and results, health check) at a Redis of our own; yields the server."""
    from qualitygov.celery import app

    server = ThrowawayRedis().start()
    url = server.url(0)
    settings.REDIS_URL = url
    settings.CELERY_BROKER_URL = url
    settings.CELERY_RESULT_BACKEND = url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.QUALITYGOV_RECOMPUTE_DELAY = 1
    settings.CACHES = {
        "default": {
            "BACKEND": "qualitygov.resilience.FailSoftRedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    # Celery reads Django's settings live (config_from_object), so the values above already show through
    # app.conf; what must be restored is Celery's own layer of changes, as it was (a key absent stays absent,
    # or a later test would keep this test's broker and task_always_eager=False).
    keys = ("broker_url", "result_backend", "task_always_eager")
    missing = object()
    saved = {key: app.conf.changes.get(key, missing) for key in keys}
    app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)
    _reset_celery_connections(app)
    try:
        yield server
    finally:
        for key, value in saved.items():
            if value is missing:
                app.conf.changes.pop(key, None)
            else:
                app.conf.changes[key] = value
        _reset_celery_connections(app)
        server.kill()


def _timed(call, *args, **kwargs):
    started = time.monotonic()
    response = call(*args, **kwargs)
    return response, time.monotonic() - started


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.worker
def test_redis_down_pages_and_api_keep_working_and_recomputes_are_kept(
    redis_server, project, release, api_client_for, tmp_path, admin, qa
):
    # given a project with the default gates, a QA lead and a release manager, and Redis answering
    gate = gate_services.gates_create_defaults(project=project, by=admin)[0]
    assert Client().get("/healthz").json()["status"] == "ok"
    PendingRecompute.objects.all().delete()

    # when Redis dies
    redis_server.kill()

    # then the health check says degraded with 503 and names Redis
    health = Client().get("/healthz")
    assert health.status_code == 503
    assert health.json()["status"] == "degraded"
    assert health.json()["checks"]["database"] == "ok"
    assert health.json()["checks"]["redis"].startswith("error")

    # and logging in through the form still works (the login rate limit lives in the cache)
    browser = Client()
    login, took = _timed(browser.post, "/accounts/login/", {"username": qa.username, "password": PASSWORD})
    assert login.status_code == 302 and took < SLOW, (login.status_code, took)

    # and the daily work goes on through the API: file a defect, move it, upload results, evaluate a gate
    api = api_client_for(qa)
    created, took = _timed(
        api.post,
        "/api/v1/defects/",
        {
            "project": project.key,
            "title": "Checkout times out",
            "severity": "critical",
            "found_in_release": release.version,
        },
        format="json",
    )
    assert created.status_code == 201 and took < SLOW, (created.content, took)
    second = api.post(
        "/api/v1/defects/",
        {
            "project": project.key,
            "title": "Typo on receipt",
            "severity": "minor",
            "found_in_release": release.version,
        },
        format="json",
    )
    assert second.status_code == 201, second.content
    moved, took = _timed(
        api.post, f"/api/v1/defects/{created.json()['id']}/transitions/", {"to": "triaged"}, format="json"
    )
    assert moved.status_code in (200, 201) and took < SLOW, (moved.content, took)
    upload, took = _timed(
        api.post,
        f"/api/v1/releases/{release.pk}/junit/?revision=r1",
        data=junit_report(suite="tests.checkout", passed=PASSED, failed=FAILED),
        content_type="application/xml",
    )
    assert upload.status_code == 201 and took < SLOW, (upload.content, took)
    evaluation, took = _timed(
        api.post, f"/api/v1/gates/{gate.pk}/evaluations/", {"release": release.pk}, format="json"
    )
    assert evaluation.status_code == 201 and took < SLOW, (evaluation.content, took)
    recompute = api.post(f"/api/v1/releases/{release.pk}/metrics/recompute/")
    assert recompute.status_code == 202, recompute.content

    # and the recomputes those writes asked for are recorded in the database, not lost and not yet done
    pending = set(PendingRecompute.objects.values_list("scope", "release_id", "project_id"))
    assert pending == {(Scope.RELEASE, release.pk, project.pk), (Scope.PROJECT, None, project.pk)}
    assert not MetricSnapshot.objects.filter(release=release).exists()

    # and the pages people look at render (triage board, dashboards, gates), also via the logged-in browser
    pages = [
        f"/defects/?project={project.key}",
        f"/defects/{created.json()['key']}/",
        f"/releases/{release.pk}/dashboard/",
        f"/projects/{project.key}/dashboard/",
        "/dashboards/",
        f"/releases/{release.pk}/gates/",
        "/gates/",
    ]
    for url in pages:
        page, took = _timed(browser.get, url)
        assert page.status_code == 200 and took < SLOW, (url, page.status_code, took)

    # and every write was kept
    defect = Defect.objects.get(pk=created.json()["id"])
    assert defect.status == "triaged"
    assert list(defect.transitions.values_list("to_status", flat=True)) == ["new", "triaged"]
    run = testing_models.TestRun.objects.get(pk=upload.json()["run"])
    assert (run.tests, run.passed, run.failed) == (PASSED + FAILED, PASSED, FAILED)
    assert testing_models.TestResult.objects.filter(run=run).count() == PASSED + FAILED
    assert GateEvaluation.objects.filter(pk=evaluation.json()["id"], release=release).exists()
    # (the dashboards computed what they show on demand; the recorded requests are still there)
    assert PendingRecompute.objects.count() == 2

    # when Redis comes back
    redis_server.start()

    # then the health check is ok again, and new work is queued in Redis again
    health = Client().get("/healthz")
    assert (health.status_code, health.json()["status"]) == (200, "ok")
    queue = redis_server.client()
    before = queue.llen("celery")
    assert api.post(f"/api/v1/releases/{release.pk}/metrics/recompute/").status_code == 202
    assert queue.llen("celery") == before + 1, "the recompute request was not queued in Redis"

    # and the requests left from the outage are picked up: by a real worker draining the queue (PostgreSQL),
    # or by the sweep task the beat schedule runs every minute
    if connection.vendor == "postgresql":
        worker = Worker(broker=redis_server.url(0), queue="celery", log=tmp_path / "worker.log")
        try:
            wait_until(
                lambda: (
                    not PendingRecompute.objects.exists()
                    and MetricSnapshot.objects.filter(scope=Scope.PROJECT, project=project).exists()
                ),
                timeout=90,
                interval=0.3,
                what="the worker to run the pending recomputes",
            )
        except AssertionError:
            pytest.fail("pending recomputes not picked up; worker log:\n" + worker.output()[-4000:])
        finally:
            worker.stop()
    else:
        from metrics.tasks import sweep_pending_recomputes

        assert sweep_pending_recomputes.apply().get() == 2
    assert not PendingRecompute.objects.exists()
    snaps = {s.key: s for s in MetricSnapshot.objects.filter(release=release).order_by("as_of", "id")}
    open_defects = Defect.objects.filter(found_in_release=release).exclude(
        status__in=("resolved", "verified", "closed")
    )
    assert (snaps["open_defects"].value, snaps["open_defects"].n) == (
        open_defects.count(),
        open_defects.count(),
    )
    assert snaps["test_pass_rate"].value == pytest.approx(100 * PASSED / (PASSED + FAILED))


def test_redis_down_the_page_recompute_button_recomputes_on_demand(redis_server, project, release, qa):
    # given Redis is down and a defect was filed in the release
    redis_server.kill()
    client = _client_for(qa)
    response = client.post(
        "/api/v1/defects/",
        {
            "project": project.key,
            "title": "Refund lost",
            "severity": "blocker",
            "found_in_release": release.version,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    # when QA presses "recompute" on the release dashboard
    page, took = _timed(client.post, f"/releases/{release.pk}/dashboard/recompute/", follow=True)
    # then the metrics are recomputed in the request, without Redis
    assert page.status_code == 200 and took < SLOW
    snaps = {s.key: s.value for s in MetricSnapshot.objects.filter(release=release)}
    assert (
        snaps["blocking_open_defects"]
        == Defect.objects.filter(found_in_release=release, severity__in=("blocker", "critical")).count()
    )
