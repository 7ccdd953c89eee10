"""REST API for external evidence: coverage, SARIF and load-test uploads, measures, findings, custom keys.

Uploads go through the shared upload plumbing (qualitygov.uploads: raw body or multipart `file`, gzip, size limit,
content hash); parsing and storing is one service call. Objects of projects the caller is not a member of answer
404; writes check the role (403).
"""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from qualitygov import schema
from qualitygov.api import choice_field, paginated, validated
from qualitygov.errors import DomainError
from qualitygov.parsers import SafeJSONParser
from qualitygov.services import parse_instant
from qualitygov.uploads import XML_TYPES, request_upload
from releases.access import Action, require
from releases.api_scope import create_in_project
from releases.selectors import project_get_for_user, release_get_for_user

from . import selectors, services
from .coverage import FORMATS as COVERAGE_FORMATS
from .loadtest import FORMATS as LOADTEST_FORMATS
from .models import Direction, Finding, FindingLevel, MeasureKey

BINARY = ("application/gzip", "application/x-gzip", "application/octet-stream")
COVERAGE_TYPES = (*XML_TYPES, "text/plain", "text/x-lcov")
SARIF_TYPES = ("application/sarif+json", "application/json", *BINARY)
LOADTEST_TYPES = ("application/json", "text/csv", "text/plain", *BINARY)

UPLOAD_RESPONSE = inline_serializer(
    "MeasureUploadOutcome",
    {
        "upload": serializers.IntegerField(),
        "kind": serializers.CharField(),
        "format": serializers.CharField(),
        "tool": serializers.CharField(),
        "sha256": serializers.CharField(),
        "uploaded_at": serializers.DateTimeField(),
        "duplicate": serializers.BooleanField(),
        "summary": serializers.DictField(),
        "measures": inline_serializer(
            "StoredMeasure",
            {
                "key": serializers.CharField(),
                "value": serializers.FloatField(),
                "unit": serializers.CharField(),
                "direction": serializers.CharField(),
                "source": serializers.CharField(),
                "at": serializers.DateTimeField(),
            },
            many=True,
        ),
    },
)
RELEASE_MEASURES = inline_serializer(
    "ReleaseMeasures",
    {
        "as_of": serializers.DateTimeField(),
        "measures": inline_serializer(
            "ReleaseMeasure",
            {
                "key": serializers.CharField(),
                "label": serializers.CharField(),
                "value": serializers.FloatField(allow_null=True),
                "unit": serializers.CharField(),
                "direction": serializers.CharField(),
                "source": serializers.CharField(allow_null=True),
                "at": serializers.DateTimeField(allow_null=True),
            },
            many=True,
        ),
    },
)
KEY_DEFINITIONS = inline_serializer(
    "MeasureKeyDefinition",
    {
        "key": serializers.CharField(),
        "label": serializers.CharField(),
        "unit": serializers.CharField(),
        "direction": serializers.CharField(),
        "description": serializers.CharField(),
        "builtin": serializers.BooleanField(),
    },
    many=True,
)


class ReportFormatNegotiation(DefaultContentNegotiation):
    """`?format=` names the uploaded report's format on these endpoints, not the response's renderer (DRF's
    URL_FORMAT_OVERRIDE would answer 404 for `?format=lcov`); responses are always JSON."""

    class settings:  # stands in for api_settings: read as self.settings.URL_FORMAT_OVERRIDE
        URL_FORMAT_OVERRIDE = None


def _format_param(params: dict, allowed: tuple[str, ...]) -> str | None:
    value = (params.get("format") or "").strip().lower()
    if not value:
        return None
    if value not in allowed:
        raise DomainError(f"Unknown format '{value[:40]}'; use one of: {', '.join(allowed)}.", field="format")
    return value


UPLOAD_RESPONSES = {201: UPLOAD_RESPONSE, 200: UPLOAD_RESPONSE}


class _UploadApi(APIView):
    """POST a report as the raw body (optionally gzip) or multipart field `file`; one service stores it."""

    parser_classes = [MultiPartParser]
    content_negotiation_class = ReportFormatNegotiation
    accepted_types: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()
    what = "report"
    summary = description = ""
    body: dict = {}  # the request body's media types, for the schema

    def __init_subclass__(cls, **kwargs):
        # Every upload is documented alike: `?format=` where the report comes in several formats, 201 with the stored
        # measures or 200 for the same bytes again.
        super().__init_subclass__(**kwargs)
        parameters = [OpenApiParameter("format", str, enum=list(cls.formats))] if cls.formats else []
        upload = extend_schema(
            summary=cls.summary,
            description=cls.description,
            parameters=parameters,
            request=cls.body,
            responses=UPLOAD_RESPONSES,
        )
        extend_schema_view(post=upload)(cls)

    def ingest(self, *, release, upload, user, fmt):
        raise NotImplementedError

    def post(self, request, release_id: int):
        release = release_get_for_user(user=request.user, release_id=release_id)
        require(request.user, release.project_id, Action.UPLOAD_RESULTS)
        fmt = _format_param(request.query_params, self.formats) if self.formats else None
        upload, params = request_upload(
            request, accepted_types=self.accepted_types, form_fields=("format",), what=self.what
        )
        try:
            if self.formats and fmt is None:
                fmt = _format_param(params, self.formats)
            outcome = self.ingest(release=release, upload=upload, user=request.user, fmt=fmt)
        finally:
            upload.close()
        return Response(
            outcome.as_dict(), status=status.HTTP_200_OK if outcome.duplicate else status.HTTP_201_CREATED
        )


class CoverageUploadApi(_UploadApi):
    accepted_types = COVERAGE_TYPES
    formats = COVERAGE_FORMATS
    what = "coverage report"
    summary = "Upload a coverage report (Cobertura XML, JaCoCo XML or LCOV) for a release"
    description = (
        "Stores `line_coverage` and `branch_coverage` (%), equal to the report's own totals. Format sniffed from "
        "the content or given as `?format=cobertura|jacoco|lcov`. 201 with the stored measures; 200 with "
        "`duplicate: true` when the same bytes were the release's latest coverage upload."
    )
    body = {"application/xml": OpenApiTypes.BINARY, "multipart/form-data": OpenApiTypes.OBJECT}

    def ingest(self, *, release, upload, user, fmt):
        return services.coverage_ingest(release=release, upload=upload, by=user, format=fmt)


class SarifUploadApi(_UploadApi):
    accepted_types = SARIF_TYPES
    what = "SARIF log"
    summary = "Upload a SARIF 2.1.0 log (ruff, semgrep, bandit, CodeQL, ESLint, ...) for a release"
    description = (
        "Stores the findings and the release's `findings_high_total` and `new_findings_high` (level `error` "
        "results absent from the previous release of the project, by fingerprint or rule and location)."
    )
    body = {"application/sarif+json": OpenApiTypes.BINARY, "multipart/form-data": OpenApiTypes.OBJECT}

    def ingest(self, *, release, upload, user, fmt):
        return services.sarif_ingest(release=release, upload=upload, by=user)


class LoadtestUploadApi(_UploadApi):
    accepted_types = LOADTEST_TYPES
    formats = LOADTEST_FORMATS
    what = "load-test result"
    summary = "Upload a load-test result (k6 summary JSON or JMeter JTL CSV) for a release"
    description = (
        "Stores `p95_latency_ms` and `error_rate` (%). `?format=k6|jmeter` (JSON is k6, else JMeter)."
    )
    body = {"application/json": OpenApiTypes.BINARY, "text/csv": OpenApiTypes.BINARY}

    def ingest(self, *, release, upload, user, fmt):
        return services.loadtest_ingest(release=release, upload=upload, by=user, format=fmt)


class MeasureInput(serializers.Serializer):
    key = serializers.CharField(max_length=63)
    value = serializers.FloatField()


class MeasuresApi(APIView):
    parser_classes = [SafeJSONParser]

    @schema.reads(
        "Latest measure values of a release (as of T)",
        RELEASE_MEASURES,
        parameters=[
            OpenApiParameter("as_of", str, description="ISO datetime or date (end of day); default now.")
        ],
    )
    def get(self, request, release_id: int):
        release = release_get_for_user(user=request.user, release_id=release_id)
        as_of = (
            parse_instant(request.query_params.get("as_of"), field="as_of", end_of_day=True) or timezone.now()
        )
        definitions = selectors.key_definitions(project=release.project_id)
        latest = selectors.latest_measures(release=release, as_of=as_of, keys=definitions)
        return Response(
            {
                "as_of": as_of.isoformat(),
                "measures": [
                    {
                        "key": d.key,
                        "label": d.label,
                        "value": latest[d.key].value if d.key in latest else None,
                        "unit": d.unit,
                        "direction": d.direction,
                        "source": latest[d.key].source if d.key in latest else None,
                        "at": latest[d.key].at.isoformat() if d.key in latest else None,
                    }
                    for d in definitions.values()
                ],
            }
        )

    @extend_schema(
        summary="Record measures of a release: {key, value} or a list of them",
        request=MeasureInput(many=True),
        responses=UPLOAD_RESPONSES,
    )
    def post(self, request, release_id: int):
        release = release_get_for_user(user=request.user, release_id=release_id)
        require(request.user, release.project_id, Action.UPLOAD_RESULTS)
        many = isinstance(request.data, list)
        serializer = validated(MeasureInput, request.data, many=many)
        items = serializer.validated_data if many else [serializer.validated_data]
        outcome = services.measures_record(release=release, items=items, by=request.user)
        return Response(
            outcome.as_dict(), status=status.HTTP_200_OK if outcome.duplicate else status.HTTP_201_CREATED
        )


class FindingOutput(serializers.ModelSerializer):
    class Meta:
        model = Finding
        fields = [
            "id",
            "tool",
            "rule_id",
            "level",
            "message",
            "uri",
            "start_line",
            "start_column",
            "link",
            "is_new",
            "upload",
        ]


class FindingsApi(APIView):
    @extend_schema(
        summary="Current SARIF findings of a release (latest upload of each tool)",
        parameters=[
            OpenApiParameter("level", str, enum=FindingLevel.values),
            OpenApiParameter("new", bool, description="true: only findings absent from the baseline."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={
            200: inline_serializer(
                "PaginatedFindings",
                {
                    "count": serializers.IntegerField(),
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": FindingOutput(many=True),
                },
            ),
        },
    )
    def get(self, request, release_id: int):
        release = release_get_for_user(user=request.user, release_id=release_id)
        level = request.query_params.get("level") or None
        if level is not None and level not in FindingLevel.values:
            raise DomainError(f"level is one of: {', '.join(FindingLevel.values)}.", field="level")
        new_raw = (request.query_params.get("new") or "").lower()
        if new_raw not in ("", "true", "false", "1", "0"):
            raise DomainError("new is true or false.", field="new")
        new = None if not new_raw else new_raw in ("true", "1")
        qs = selectors.findings_for(release=release, level=level, new=new)
        return paginated(request, self, qs, FindingOutput)


class MeasureKeyOutput(serializers.ModelSerializer):
    class Meta:
        model = MeasureKey
        fields = ["key", "label", "unit", "direction", "description", "created_at"]


class MeasureKeyInput(serializers.Serializer):
    key = serializers.CharField(max_length=63)
    label = serializers.CharField(max_length=100)
    unit = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    direction = choice_field(Direction.HIGHER)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class MeasureKeyListApi(APIView):
    parser_classes = [SafeJSONParser]

    @schema.reads("Measure keys of a project (built-in and custom)", KEY_DEFINITIONS)
    def get(self, request, key: str):
        project = project_get_for_user(user=request.user, key=key)
        return Response(
            [
                {
                    "key": d.key,
                    "label": d.label,
                    "unit": d.unit,
                    "direction": d.direction,
                    "description": d.description,
                    "builtin": d.builtin,
                }
                for d in selectors.key_definitions(project=project).values()
            ]
        )

    @schema.creates("Define a custom measure key (project admins)", MeasureKeyInput, MeasureKeyOutput)
    def post(self, request, key: str):
        return create_in_project(
            request, key, Action.MANAGE_GATES, MeasureKeyInput, MeasureKeyOutput, services.measure_key_create
        )


class MeasureKeyDetailApi(APIView):
    @schema.deletes("Remove a custom measure key (project admins)")
    def delete(self, request, key: str, measure_key: str):
        project = project_get_for_user(user=request.user, key=key)
        found = selectors.custom_keys(project=project).filter(key=measure_key).first()
        if found is None:
            raise Http404("No such custom measure key.")
        services.measure_key_delete(measure_key=found, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
