"""POST /api/v1/releases/{id}/junit/ (a JUnit report from CI) and GET /api/v1/junit-ingestions/{id}/ (the
status of a large report queued for a worker). The rules are in testing/junit.py and testing/junit_rules.py."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from defects.models import Environment
from qualitygov.uploads import XML_TYPES, request_upload
from releases.access import Action, require
from releases.selectors import release_get_for_user

from . import ingest, ingest_async
from .models import JUnitIngestion

JUNIT_RESPONSE = inline_serializer(
    "JUnitIngestResult",
    fields={
        "run": serializers.IntegerField(),
        "tests": serializers.IntegerField(),
        "passed": serializers.IntegerField(),
        "failed": serializers.IntegerField(),
        "error": serializers.IntegerField(),
        "skipped": serializers.IntegerField(),
        "flaky": serializers.IntegerField(),
        "test_cases": serializers.IntegerField(),
        "duplicate": serializers.BooleanField(),
    },
)


class JUnitUploadApi(APIView):
    """POST a JUnit report: raw XML body (optionally gzip) or multipart field `file`."""

    # Raw XML is read from the request stream by the view; only multipart goes through DRF's parsers.
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="Upload a JUnit XML report for a release (CI)",
        description=(
            "Body: the XML (`Content-Type: application/xml` or `text/xml`, optionally `Content-Encoding: gzip`) "
            "or multipart field `file`. Parameters `revision`, `environment`, `run_name` in the query string or "
            "form. 201 with the new run and counts; 200 with `duplicate: true` and the existing run when the "
            "same report was already ingested for this release and revision. 400 with line/column for malformed "
            "XML, non-JUnit documents, DOCTYPE/entity declarations; 413 over the size limit "
            "(QUALITYGOV_JUNIT_MAX_BYTES, decompressed; refused from Content-Length before the body is read). "
            "A report larger than QUALITYGOV_JUNIT_ASYNC_BYTES is ingested by a worker: 202 with `status_url` "
            "(GET it: state queued, running, done with the counts, or failed with the message)."
        ),
        parameters=[
            OpenApiParameter("revision", str),
            OpenApiParameter("environment", str, enum=Environment.values),
            OpenApiParameter("run_name", str),
        ],
        request={"application/xml": OpenApiTypes.BINARY, "multipart/form-data": OpenApiTypes.OBJECT},
        responses={
            201: JUNIT_RESPONSE,
            200: JUNIT_RESPONSE,
            202: OpenApiResponse(description="Large report queued for a worker; poll `status_url`."),
            413: OpenApiResponse(description="Too large."),
            415: OpenApiResponse(description="Unsupported content type."),
        },
    )
    def post(self, request, release_id: int):
        release = release_get_for_user(user=request.user, release_id=release_id)
        require(request.user, release.project_id, Action.UPLOAD_RESULTS)
        upload, params = request_upload(
            request,
            accepted_types=XML_TYPES,
            form_fields=("revision", "environment", "run_name"),
            limit=settings.QUALITYGOV_JUNIT_MAX_BYTES,
        )
        run_params = {
            "release": release,
            "upload": upload,
            "by": request.user,
            "revision": params.get("revision") or "",
            "environment": params.get("environment") or Environment.TEST,
            "run_name": params.get("run_name") or "",
        }
        try:
            if upload.size > settings.QUALITYGOV_JUNIT_ASYNC_BYTES:
                queued = ingest_async.junit_enqueue(**run_params)
                if isinstance(queued, JUnitIngestion):
                    body = ingest_async.ingestion_as_dict(queued)
                    return Response(
                        body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]}
                    )
                outcome = queued
            else:
                outcome = ingest.junit_ingest(**run_params)
        finally:
            upload.close()
        return Response(
            outcome.as_dict(), status=status.HTTP_200_OK if outcome.duplicate else status.HTTP_201_CREATED
        )


class JUnitIngestionApi(APIView):
    """GET the state of a JUnit report queued for a worker (the status URL of a 202)."""

    @extend_schema(
        summary="State of a queued JUnit ingestion: queued, running, done (with the counts) or failed",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, pk: int):
        ingestion = JUnitIngestion.objects.filter(pk=pk).first()
        if ingestion is None:
            raise Http404("No such ingestion.")
        release_get_for_user(user=request.user, release_id=ingestion.release_id)  # 404 outside your projects
        return Response(ingest_async.ingestion_as_dict(ingestion))
