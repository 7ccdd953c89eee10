"""REST API for requirements, test cases, runs, results, JUnit uploads and the traceability matrix.

Thin: parse with an input serializer, call one service or selector, render with an output serializer.
Objects of projects the caller is not a member of answer 404; writes check the role (403).
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from qualitygov import schema
from qualitygov.api import created, validated
from qualitygov.endpoints import ItemApi, ListApi
from qualitygov.parsers import SafeJSONParser
from qualitygov.services import parse_id
from qualitygov.timeparams import parse_as_of
from releases.api_scope import project_body
from releases.selectors import release_get_for_user

from . import selectors, services
from .models import (
    ResultStatus,
    RunSource,
    TestCase,
    TestResult,
)
from .serializers import (
    BulkLinkInput,
    FileDefectInput,
    ManualResultInput,
    ManualRunInput,
    RequirementInput,
    RequirementOutput,
    RequirementUpdate,
    ResultOutput,
    RunOutput,
    TestCaseInput,
    TestCaseOutput,
    TestCaseUpdate,
)

# --- requirements ---------------------------------------------------------------------------------------


def _search(request, params) -> dict:
    """The filters the requirement and test-case lists share: the user's projects, one of them (`?project=KEY`) and a
    text to look for (`?q=`)."""
    return {"user": request.user, "project_key": params.get("project", ""), "q": params.get("q", "").strip()}


@extend_schema_view(
    get=schema.reads(
        "Requirements (filters: project, q, release)",
        RequirementOutput(many=True),
        parameters=[schema.PROJECT, schema.TEXT, schema.RELEASE],
    ),
    post=schema.creates("Create a requirement", RequirementInput, RequirementOutput),
)
class RequirementListApi(ListApi):
    serializer_class = RequirementOutput

    def rows(self, request, params):
        found = selectors.requirement_list(
            **_search(request, params), release_id=parse_id(params.get("release"))
        )
        return found.prefetch_related("test_cases", "releases")

    def post(self, request):
        project, data = project_body(request, RequirementInput)
        return created(
            RequirementOutput, services.requirement_create(project=project, by=request.user, **data)
        )


class RequirementDetailApi(ItemApi):
    noun, arg, deleted = "requirement", "requirement", "Delete a requirement"
    output, update_input = RequirementOutput, RequirementUpdate
    find = staticmethod(selectors.requirement_get_for_user)
    update, remove = staticmethod(services.requirement_update), staticmethod(services.requirement_delete)


# --- test cases -----------------------------------------------------------------------------------------


@extend_schema_view(
    get=schema.reads(
        "Test cases (filters: project, q, kind, component, requirement)",
        TestCaseOutput(many=True),
        parameters=[OpenApiParameter(n, str) for n in ("project", "q", "kind", "component", "requirement")],
    ),
    post=schema.creates("Create a test case", TestCaseInput, TestCaseOutput),
)
class TestCaseListApi(ListApi):
    serializer_class = TestCaseOutput

    def rows(self, request, params):
        return selectors.testcase_list(
            **_search(request, params),
            kind=params.get("kind", ""),
            component=params.get("component", ""),
            requirement_id=parse_id(params.get("requirement", "")),
        ).order_by("project__key", "suite", "title", "id")

    def post(self, request):
        project, data = project_body(request, TestCaseInput)
        return created(TestCaseOutput, services.testcase_create(project=project, by=request.user, **data))


class TestCaseDetailApi(ItemApi):
    noun, arg, deleted = "test case", "test_case", "Delete a test case (and its results)"
    output, update_input = TestCaseOutput, TestCaseUpdate
    find = staticmethod(selectors.testcase_get_for_user)
    update, remove = staticmethod(services.testcase_update), staticmethod(services.testcase_delete)


class BulkLinkApi(APIView):
    @schema.changes(
        "Link (or unlink) every given test case to every given requirement",
        BulkLinkInput,
        inline_serializer("BulkLinkResult", {"changed": serializers.IntegerField()}),
    )
    def post(self, request):
        project, data = project_body(request, BulkLinkInput)
        return Response(
            {"changed": services.testcases_link_requirements(project=project, by=request.user, **data)}
        )


# --- runs and results -----------------------------------------------------------------------------------


@extend_schema_view(
    get=schema.reads(
        "Test runs, newest first (filters: release, source, project)",
        RunOutput(many=True),
        parameters=[schema.RELEASE, OpenApiParameter("source", str, enum=RunSource.values), schema.PROJECT],
    )
)
class RunListApi(ListApi):
    serializer_class = RunOutput

    def rows(self, request, params):
        return selectors.run_list(
            user=request.user,
            release_id=parse_id(params.get("release", "")),
            source=params.get("source", ""),
            project_key=params.get("project", ""),
        )


class RunDetailApi(APIView):
    @schema.reads("One test run with its counts", RunOutput)
    def get(self, request, pk: int):
        return Response(RunOutput(selectors.run_get_for_user(user=request.user, pk=pk)).data)


@extend_schema_view(
    get=schema.reads(
        "Results of a run (filters: status, flaky=yes|no, suite, q)",
        ResultOutput(many=True),
        parameters=[
            OpenApiParameter("status", str, enum=ResultStatus.values),
            OpenApiParameter("flaky", str),
            OpenApiParameter("suite", str),
            schema.TEXT,
        ],
    ),
    post=schema.creates(
        "Record a manual result (status and/or per-step outcomes)", ManualResultInput, ResultOutput
    ),
)
class RunResultsApi(ListApi):
    serializer_class = ResultOutput
    parser_classes = [SafeJSONParser, FormParser, MultiPartParser]
    # DRF's default backend (OrderingFilter): the schema has always listed its `?ordering=`; the selector orders.
    filter_backends = GenericAPIView.filter_backends

    def rows(self, request, params, pk: int):
        return selectors.run_results(
            run=selectors.run_get_for_user(user=request.user, pk=pk),
            status=params.get("status", ""),
            flaky=params.get("flaky", ""),
            suite=params.get("suite", ""),
            q=params.get("q", "").strip(),
        )

    def post(self, request, pk: int):
        run = selectors.run_get_for_user(user=request.user, pk=pk)
        data = dict(validated(ManualResultInput, request.data).validated_data)
        case = TestCase.objects.filter(pk=data.pop("test_case"), project_id=run.release.project_id).first()
        if case is None:
            raise serializers.ValidationError({"test_case": ["Unknown test case for this run's project."]})
        return created(
            ResultOutput, services.manual_result_record(run=run, test_case=case, by=request.user, **data)
        )


class RunCompleteApi(APIView):
    @schema.changes("Complete a manual run", None, RunOutput)
    def post(self, request, pk: int):
        run = selectors.run_get_for_user(user=request.user, pk=pk)
        run = services.manual_run_complete(run=run, by=request.user)
        return Response(RunOutput(selectors.run_get_for_user(user=request.user, pk=run.pk)).data)


class RunComparisonApi(APIView):
    @extend_schema(
        summary="Comparison with the previous run of the release: new failures, fixed, still failing",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, pk: int):
        run = selectors.run_get_for_user(user=request.user, pk=pk)
        cmp = selectors.run_comparison(run=run)

        def ids(results):
            return [
                {"result": r.pk, "test_case": r.test_case_id, "title": r.test_case.title, "status": r.status}
                for r in results
            ]

        return Response(
            {
                "previous_run": cmp.previous.pk if cmp.previous else None,
                "new_failures": ids(cmp.new_failures),
                "fixed": ids(cmp.fixed),
                "still_failing": ids(cmp.still_failing),
            }
        )


class ManualRunCreateApi(APIView):
    @schema.creates("Plan a manual run of a release over selected test cases", ManualRunInput, RunOutput)
    def post(self, request, release_id: int):
        release = release_get_for_user(user=request.user, release_id=release_id)
        data = validated(ManualRunInput, request.data).validated_data
        return created(RunOutput, services.manual_run_create(release=release, by=request.user, **data))


class ResultDefectApi(APIView):
    @extend_schema(
        summary="File a defect from a failed result (prefilled, linked to result, test case and requirements)",
        request=FileDefectInput,
        responses={
            201: inline_serializer(
                "FiledDefect",
                {
                    "key": serializers.CharField(),
                    "id": serializers.IntegerField(),
                    "created": serializers.BooleanField(),
                },
            ),
            200: OpenApiResponse(description="Already filed: the defect linked to the result (same body)."),
        },
    )
    def post(self, request, pk: int):
        result = (
            TestResult.objects.select_related("run__release__project", "release__project", "test_case")
            .filter(pk=pk, release__project__in=selectors.project_list_for_user(user=request.user))
            .first()
        )
        if result is None:
            raise Http404("No such result.")
        data = validated(FileDefectInput, request.data).validated_data
        defect, filed = services.defect_file_from_result(result=result, by=request.user, **data)
        # A result already filed answers 200 with the defect it has (a retried request files no twin).
        return Response(
            {"id": defect.pk, "key": defect.key, "created": filed},
            status=status.HTTP_201_CREATED if filed else status.HTTP_200_OK,
        )


# --- traceability ---------------------------------------------------------------------------------------


class TraceabilityApi(APIView):
    @extend_schema(
        summary="Traceability matrix of a release (gap: no_tests | failing | not_run | blocking)",
        parameters=[
            OpenApiParameter("gap", str, enum=list(selectors.GAP_FILTERS)),
            schema.TEXT,
            OpenApiParameter("as_of", str, description="Scope, links, results and open defects as of T."),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, release_id: int):
        release = release_get_for_user(user=request.user, release_id=release_id)
        gap = request.query_params.get("gap", "")
        if gap and gap not in selectors.GAP_FILTERS:
            raise serializers.ValidationError({"gap": [f"Use one of: {', '.join(selectors.GAP_FILTERS)}."]})
        all_rows = selectors.traceability_matrix(
            release=release,
            q=request.query_params.get("q", "").strip(),
            as_of=parse_as_of(request.query_params.get("as_of")),
        )
        rows = [row for row in all_rows if row.matches(gap)] if gap else all_rows
        return Response(
            {
                "release": release.pk,
                "summary": selectors.matrix_summary(all_rows),
                "rows": [
                    {
                        "requirement": {
                            "id": row.requirement.pk,
                            "key": row.requirement.key,
                            "title": row.requirement.title,
                        },
                        "state": row.state,
                        "verified": row.verified,
                        "test_cases": [
                            {
                                "id": case.pk,
                                "title": case.title,
                                "latest": None
                                if result is None
                                else {
                                    "result": result.pk,
                                    "run": result.run_id,
                                    "status": result.status,
                                    "flaky": result.flaky,
                                    "finished_at": result.finished_at,
                                },
                            }
                            for case, result in row.cells
                        ],
                        "open_defects": [
                            {"key": d.key, "severity": d.severity, "status": d.status}
                            for d in row.open_defects
                        ],
                    }
                    for row in rows
                ],
            }
        )
