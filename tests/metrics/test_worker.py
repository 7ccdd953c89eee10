"""A real Celery worker (subprocess) against Redis and the test database computes and stores snapshots.

Needs PostgreSQL (the worker process must reach the same test database; an in-memory SQLite test database cannot
be shared) and Redis. Locally it skips with the reason; in CI (CI=true) a missing prerequisite is a failure.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from metrics.models import MetricSnapshot
from tests import factories as f
from tests.conftest import require_marker
from tests.hardening.faultkit import database_url, skip_or_fail

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "qualitygov-metrics-worker-test"


def _redis_url() -> str:
    return (
        os.environ.get("QUALITYGOV_TEST_REDIS_URL")
        or os.environ.get("REDIS_URL")
        or "redis://127.0.0.1:6379/3"
    )


@pytest.fixture
def worker():
    require_marker("worker", "starts a real Celery worker")
    if connection.vendor != "postgresql":
        skip_or_fail("the real-worker test needs DATABASE_URL=postgres://... (a shared test database)")
    import redis

    url = _redis_url()
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:
        skip_or_fail(f"Redis is not reachable at {url}: {exc}")
    env = {
        **os.environ,
        "DJANGO_ENV": "test",
        "DATABASE_URL": database_url(),
        "REDIS_URL": url,
        "PYTHONPATH": str(ROOT),
    }
    celery = Path(sys.executable).with_name("celery")
    proc = subprocess.Popen(
        [
            str(celery),
            "-A",
            "qualitygov",
            "worker",
            "--pool=solo",
            "-Q",
            QUEUE,
            "-l",
            "warning",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_real_worker_recomputes_a_release_into_snapshots(worker, project, release):
    from celery import Celery

    # given a release with one blocking open defect and one resolved defect
    f.DefectFactory(project=project, found_in_release=release, severity="blocker")
    f.DefectFactory(project=project, found_in_release=release, severity="minor")
    # when the recompute task is sent through Redis to the real worker
    sender = Celery("sender", broker=worker, set_as_current=False)
    sender.send_task("metrics.tasks.recompute_scopes", kwargs={"release_ids": [release.pk]}, queue=QUEUE)
    # then the worker stores the snapshots of the release and of its project
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if MetricSnapshot.objects.filter(scope="project", project=project, key="stability_index").exists():
            break
        time.sleep(0.5)
    snaps = {s.key: s for s in MetricSnapshot.objects.filter(release=release)}
    assert snaps, "the worker stored no snapshot within 90 s"
    assert (snaps["open_defects"].value, snaps["open_defects"].n) == (2, 2)
    assert snaps["blocking_open_defects"].value == 1
    assert snaps["test_pass_rate"].value is None
    # risk: blocking 1 -> warn 0.5*3; pass rate, verified, reopen, flaky no data -> 0.5*(2+2+1+1); net 2 -> warn 0.5
    # (1.5 + 3 + 0.5) / 10 = 50 -> high
    assert snaps["release_risk_score"].value == 50.0
    assert snaps["release_risk_score"].details["band"] == "high"
    assert MetricSnapshot.objects.filter(scope="project", project=project, key="stability_index").exists()
