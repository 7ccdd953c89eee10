"""Celery tasks for test management: thin wrappers around testing.ingest."""

from celery import shared_task
from django.conf import settings

from qualitygov.uploads import upload_from_path
from releases.models import Release

from .ingest import junit_ingest


@shared_task(name="testing.tasks.import_junit_file", acks_late=True, reject_on_worker_lost=True)
def import_junit_file(
    release_id: int, path: str, revision: str = "", environment: str = "test", run_name: str = ""
) -> dict:
    """Ingest a JUnit report from a file the worker can read (a CI drop folder, a shared volume).

    Safe to run again: a worker lost mid-import leaves nothing (one transaction), and a report that did land is
    recognised by its content hash and not ingested twice, so a redelivered task answers `duplicate: true`.
    """
    release = Release.objects.select_related("project").get(pk=release_id)
    upload = upload_from_path(path, limit=settings.QUALITYGOV_JUNIT_MAX_BYTES)
    try:
        outcome = junit_ingest(
            release=release,
            upload=upload,
            by=None,
            revision=revision,
            environment=environment,
            run_name=run_name or path.rsplit("/", 1)[-1],
        )
    finally:
        upload.close()
    return outcome.as_dict()


@shared_task(name="testing.tasks.ingest_queued_junit", acks_late=True, reject_on_worker_lost=True)
def ingest_queued_junit(ingestion_id: int) -> str:
    """Ingest a large JUnit report the API queued (testing/ingest_async.py). Returns the final state."""
    from .ingest_async import junit_run_queued

    return junit_run_queued(ingestion_id=ingestion_id).state
