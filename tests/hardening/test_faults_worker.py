"""A Celery worker killed (SIGKILL) in the middle of a task: the task runs again and nothing is counted twice.

Real processes: a Redis server of the test's own, a `celery worker` subprocess on the test database. The worker
is armed (QUALITYGOV_FAULT_POINT) to stop at a known point inside the task's transaction, the test kills it
there, starts a second worker, and the message, never acknowledged (acks_late), is handed out again once the
visibility timeout (3 s in these workers) has passed.
"""

from __future__ import annotations

from collections import Counter

import pytest

from defects.models import Defect
from metrics.models import MetricSnapshot, PendingRecompute, Scope
from testing import models as tm
from tests import factories as f

from .faultkit import ThrowawayRedis, Worker, junit_report, require_postgres, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

QUEUE = "qualitygov-fault-worker"
OPEN_STATUSES = ("new", "triaged", "in_progress", "reopened")


@pytest.fixture
def broker():
    require_postgres("a worker subprocess sharing the test database")
    server = ThrowawayRedis().start()
    yield server
    server.kill()


@pytest.fixture
def workers(broker, tmp_path):
    """start(fault_point=None) -> a Worker on the test's Redis; all are stopped at the end."""
    started: list[Worker] = []

    def start(fault_point: str | None = None) -> Worker:
        env = (
            {"QUALITYGOV_FAULT_POINT": fault_point, "QUALITYGOV_FAULT_DIR": str(tmp_path)}
            if fault_point
            else {}
        )
        worker = Worker(
            broker=broker.url(0), queue=QUEUE, log=tmp_path / f"worker{len(started) + 1}.log", env=env
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def _send(broker, name: str, *args, **kwargs) -> None:
    from celery import Celery

    sender = Celery("fault-test-sender", broker=broker.url(0), set_as_current=False)
    sender.send_task(name, args=args, kwargs=kwargs, queue=QUEUE)


def _kill_at(worker: Worker, point: str, tmp_path) -> None:
    reached = tmp_path / f"{point}.reached"
    try:
        wait_until(reached.exists, timeout=60, what=f"the worker to reach {point}")
    except AssertionError:
        pytest.fail(f"worker never reached {point}; log:\n{worker.output()[-4000:]}")
    assert int(reached.read_text()) == worker.proc.pid
    worker.kill()


def _settled(broker) -> bool:
    """No message waiting, none handed out and unacknowledged."""
    client = broker.client()
    return client.llen(QUEUE) == 0 and client.hlen("unacked") == 0


def test_worker_killed_mid_recompute_the_recompute_runs_again_once(
    broker, workers, project, release, tmp_path
):
    # given a release with two open defects, one blocking, and a recorded recompute request for it
    f.DefectFactory(project=project, found_in_release=release, severity="blocker")
    f.DefectFactory(project=project, found_in_release=release, severity="minor")
    PendingRecompute.objects.create(scope=Scope.RELEASE, project=project, release=release)
    point = "metrics.snapshot_release.stored"
    # when a worker takes the recompute and is killed after storing the snapshots, before its commit
    first = workers(fault_point=point)
    _send(broker, "metrics.tasks.run_pending_recomputes")
    _kill_at(first, point, tmp_path)
    # then nothing of the killed run is visible, the request is still recorded, the message is not acknowledged
    assert not MetricSnapshot.objects.filter(release=release).exists()
    assert PendingRecompute.objects.filter(release=release).exists()
    assert broker.client().hlen("unacked") == 1
    # when a second worker starts
    second = workers()
    try:
        wait_until(
            lambda: not PendingRecompute.objects.exists() and _settled(broker),
            timeout=60,
            interval=0.3,
            what="the redelivered recompute",
        )
    except AssertionError:
        pytest.fail("recompute not redelivered; second worker log:\n" + second.output()[-4000:])
    # then the recompute ran exactly once: one snapshot per metric of the release, with the right values
    snaps = list(MetricSnapshot.objects.filter(scope=Scope.RELEASE, release=release))
    per_key = Counter(s.key for s in snaps)
    assert per_key and set(per_key.values()) == {1}, per_key
    assert len({s.as_of for s in snaps}) == 1
    values = {s.key: s for s in snaps}
    open_count = Defect.objects.filter(found_in_release=release, status__in=OPEN_STATUSES).count()
    assert (values["open_defects"].value, values["open_defects"].n) == (open_count, open_count)
    assert values["blocking_open_defects"].value == 1


def test_worker_killed_mid_import_the_import_runs_again_without_duplicates(
    broker, workers, project, release, tmp_path
):
    # given a JUnit report in a drop folder the worker can read
    passed, failed, skipped = 25, 4, 2
    total = passed + failed + skipped
    report = tmp_path / "nightly.xml"
    report.write_bytes(junit_report(suite="tests.ledger", passed=passed, failed=failed, skipped=skipped))
    point = "testing.junit_ingest.results_written"
    # when a worker imports it and is killed after writing every result, before its commit
    first = workers(fault_point=point)
    _send(broker, "testing.tasks.import_junit_file", release.pk, str(report), revision="r42")
    _kill_at(first, point, tmp_path)
    # then nothing of the killed import is visible and the message is not acknowledged
    assert (tm.TestRun.objects.count(), tm.TestResult.objects.count(), tm.TestCase.objects.count()) == (
        0,
        0,
        0,
    )
    assert broker.client().hlen("unacked") == 1
    # when a second worker starts
    second = workers()
    try:
        wait_until(
            lambda: tm.TestRun.objects.exists() and _settled(broker),
            timeout=60,
            interval=0.3,
            what="the redelivered import",
        )
    except AssertionError:
        pytest.fail("import not redelivered; second worker log:\n" + second.output()[-4000:])
    # then the report is imported once, with the right counts
    run = tm.TestRun.objects.get()
    assert (run.revision, run.tests, run.passed, run.failed, run.skipped) == (
        "r42",
        total,
        passed,
        failed,
        skipped,
    )
    assert tm.TestResult.objects.filter(run=run).count() == total
    assert tm.TestCase.objects.filter(project=project).count() == total
    # and the same import delivered again (a second redelivery, a retry) is recognised, not counted twice
    _send(broker, "testing.tasks.import_junit_file", release.pk, str(report), revision="r42")
    wait_until(
        lambda: "'duplicate': True" in second.output() or tm.TestRun.objects.count() > 1,
        timeout=30,
        what="the repeated import's outcome",
    )
    assert (tm.TestRun.objects.count(), tm.TestResult.objects.count()) == (1, total)
