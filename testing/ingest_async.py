"""Large JUnit reports are ingested by a Celery worker: queued by the API (202), run by testing.tasks.

The upload is already spooled, decompressed, hashed and held to the limit by the request; above
QUALITYGOV_JUNIT_ASYNC_BYTES it is copied to QUALITYGOV_JUNIT_SPOOL_DIR (a folder the web and worker processes
share), a JUnitIngestion row records it, and the task is sent once the row is committed. The worker runs the
same junit_ingest as a synchronous upload; the row ends `done` with the answer a synchronous upload gives, or
`failed` with the refusal's message. The spooled file is removed either way.
"""

from __future__ import annotations

import os
import shutil
import uuid

from django.conf import settings
from django.db import transaction

from defects.models import Environment
from qualitygov.errors import DomainError
from qualitygov.uploads import Upload
from releases.access import Action, authorize
from releases.models import Release

from .ingest import IngestOutcome, clean_run_params, existing_run, junit_ingest
from .models import IngestionState, JUnitIngestion


def junit_enqueue(
    *, release: Release, upload: Upload, by, revision: str = "", environment: str = "", run_name: str = ""
) -> JUnitIngestion | IngestOutcome:
    """Queue a spooled report for a worker. A report already ingested answers like a repeat upload."""
    authorize(by, release.project_id, Action.UPLOAD_RESULTS)
    revision, environment, run_name = clean_run_params(revision, environment or Environment.TEST, run_name)
    existing = existing_run(release=release, revision=revision, content_hash=upload.sha256)
    if existing is not None:
        return IngestOutcome(run=existing, duplicate=True)
    folder = settings.QUALITYGOV_JUNIT_SPOOL_DIR
    os.makedirs(folder, mode=0o700, exist_ok=True)
    path = os.path.join(folder, f"{uuid.uuid4().hex}.xml")
    upload.file.seek(0)
    with open(path, "xb") as out:
        shutil.copyfileobj(upload.file, out, 1024 * 1024)
    try:
        with transaction.atomic():
            ingestion = JUnitIngestion.objects.create(
                release=release,
                created_by=by if getattr(by, "pk", None) else None,
                path=path,
                size=upload.size,
                content_hash=upload.sha256,
                revision=revision,
                environment=environment,
                run_name=run_name,
            )
            transaction.on_commit(lambda: _send(ingestion.pk))
    except BaseException:
        os.unlink(path)
        raise
    return ingestion


def _send(ingestion_id: int) -> None:
    from .tasks import ingest_queued_junit

    ingest_queued_junit.delay(ingestion_id)


def junit_run_queued(*, ingestion_id: int) -> JUnitIngestion:
    """Ingest a queued report (the worker's job). Safe to run twice: a finished ingestion is left alone."""
    with transaction.atomic():
        ingestion = (
            JUnitIngestion.objects.select_for_update().select_related("release__project").get(pk=ingestion_id)
        )
        if ingestion.state in (IngestionState.DONE, IngestionState.FAILED):
            return ingestion
        ingestion.state = IngestionState.RUNNING
        ingestion.save(update_fields=["state", "updated_at"])
    try:
        with open(ingestion.path, "rb") as fh:
            outcome = junit_ingest(
                release=ingestion.release,
                upload=Upload(file=fh, sha256=ingestion.content_hash, size=ingestion.size),
                by=ingestion.created_by,
                revision=ingestion.revision,
                environment=ingestion.environment,
                run_name=ingestion.run_name,
                check_access=False,
            )
    except (DomainError, OSError) as exc:
        ingestion.state, ingestion.error = IngestionState.FAILED, getattr(exc, "message", None) or str(exc)
    else:
        ingestion.state, ingestion.run, ingestion.result = IngestionState.DONE, outcome.run, outcome.as_dict()
    finally:
        if os.path.exists(ingestion.path):
            os.unlink(ingestion.path)
    ingestion.save(update_fields=["state", "run", "result", "error", "updated_at"])
    return ingestion


def ingestion_as_dict(ingestion: JUnitIngestion) -> dict:
    return {
        "id": ingestion.pk,
        "state": ingestion.state,
        "release": ingestion.release_id,
        "run": ingestion.run_id,
        "size": ingestion.size,
        "result": ingestion.result or None,
        "error": ingestion.error,
        "status_url": f"/api/v1/junit-ingestions/{ingestion.pk}/",
    }
