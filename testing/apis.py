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

from qualitygov.api import paginated, validated
from qualitygov.parsers import SafeJSONParser
from qualitygov.services import parse_id
from qualitygov.timeparams import parse_as_of
from releases.selectors import project_get_for_user, release_get_for_user

from . import selectors, services
from .models import (
    Requirement,
    ResultStatus,
    RunSource,
    TestCase,
    TestResult,
    TestRun,
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


class RequirementListApi(GenericAPIView):
    serializer_class = RequirementOutput
    queryset = Requirement.objects.none()  # for the schema only; get() reads through the selectors
    filter_backends = ()

    @extend_schema(
        summary="Requirements (filters: project, q, release)",
        responses={200: RequirementOutput(many=True)},
        parameters=[
            OpenApiParameter("project", str),
            OpenApiParameter("q", str),
            OpenApiParameter("release", int),
        ],
    )
    def get(self, request):
        release = request.query_params.get("release")
        qs = selectors.requirement_list(
            user=request.user,
            project_key=request.query_params.get("project", ""),
            q=request.query_params.get("q", "").strip(),
            release_id=parse_id(release),
        ).prefetch_related("test_cases", "releases")
        return paginated(self.request, self, qs, RequirementOutput)

    @extend_schema(
        summary="Create a requirement", request=RequirementInput, responses={201: RequirementOutput}
    )
    def post(self, request):
        data = validated(RequirementInput, request.data)
        v = data.validated_data
        project = project_get_for_user(user=request.user, key=v["project"])
        requirement = services.requirement_create(
            project=project,
            key=v["key"],
            title=v["title"],
            by=request.user,
            description=v["description"],
            criticality=v["criticality"],
            component=v["component"],
            release_ids=v["releases"],
        )
        return Response(RequirementOutput(requirement).data, status=status.HTTP_201_CREATED)


# One requirement or test case: read it, edit it (PATCH, or PUT with the same partial body), delete it. A subclass
# names its selector, serializers and services; `renames` maps body fields to the service's names. (A comment, not a
# docstring: drf-spectacular would publish a docstring as every operation's description.)
class _CatalogueItemApi(APIView):
    output: type[serializers.Serializer]
    update_input: type[serializers.Serializer]
    renames: dict[str, str] = {}

    def lookup(self, request, pk: int):
        raise NotImplementedError

    def apply_update(self, item, *, by, data: dict) -> None:
        raise NotImplementedError

    def apply_delete(self, item, *, by) -> None:
        raise NotImplementedError

    def get(self, request, pk: int):
        return Response(self.output(self.lookup(request, pk)).data)

    def patch(self, request, pk: int):
        item = self.lookup(request, pk)
        data = self.update_input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = {self.renames.get(name, name): value for name, value in data.validated_data.items()}
        self.apply_update(item, by=request.user, data=values)
        return Response(self.output(item).data)

    put = patch

    def delete(self, request, pk: int):
        self.apply_delete(self.lookup(request, pk), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    get=extend_schema(summary="One requirement", responses={200: RequirementOutput}),
    patch=extend_schema(
        summary="Edit a requirement", request=RequirementUpdate, responses={200: RequirementOutput}
    ),
    put=extend_schema(
        summary="Edit a requirement", request=RequirementUpdate, responses={200: RequirementOutput}
    ),
    delete=extend_schema(summary="Delete a requirement", responses={204: None}),
)
class RequirementDetailApi(_CatalogueItemApi):
    output, update_input, renames = RequirementOutput, RequirementUpdate, {"releases": "release_ids"}

    def lookup(self, request, pk: int):
        return selectors.requirement_get_for_user(user=request.user, pk=pk)

    def apply_update(self, item, *, by, data: dict) -> None:
        services.requirement_update(requirement=item, by=by, data=data)

    def apply_delete(self, item, *, by) -> None:
        services.requirement_delete(requirement=item, by=by)


# --- test cases -----------------------------------------------------------------------------------------


class TestCaseListApi(GenericAPIView):
    serializer_class = TestCaseOutput
    queryset = TestCase.objects.none()  # for the schema only; get() reads through the selectors
    filter_backends = ()

    @extend_schema(
        summary="Test cases (filters: project, q, kind, component, requirement)",
        responses={200: TestCaseOutput(many=True)},
        parameters=[OpenApiParameter(n, str) for n in ("project", "q", "kind", "component", "requirement")],
    )
    def get(self, request):
        p = request.query_params
        req = p.get("requirement", "")
        qs = selectors.testcase_list(
            user=request.user,
            project_key=p.get("project", ""),
            q=p.get("q", "").strip(),
            kind=p.get("kind", ""),
            component=p.get("component", ""),
            requirement_id=parse_id(req),
        ).order_by("project__key", "suite", "title", "id")
        return paginated(self.request, self, qs, TestCaseOutput)

    @extend_schema(summary="Create a test case", request=TestCaseInput, responses={201: TestCaseOutput})
    def post(self, request):
        data = validated(TestCaseInput, request.data)
        v = data.validated_data
        project = project_get_for_user(user=request.user, key=v["project"])
        case = services.testcase_create(
            project=project,
            title=v["title"],
            by=request.user,
            kind=v["kind"],
            suite=v["suite"],
            component=v["component"],
            preconditions=v["preconditions"],
            steps=[dict(s) for s in v["steps"]],
            requirement_ids=v["requirements"],
        )
        return Response(TestCaseOutput(case).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="One test case", responses={200: TestCaseOutput}),
    patch=extend_schema(summary="Edit a test case", request=TestCaseUpdate, responses={200: TestCaseOutput}),
    put=extend_schema(summary="Edit a test case", request=TestCaseUpdate, responses={200: TestCaseOutput}),
    delete=extend_schema(summary="Delete a test case (and its results)", responses={204: None}),
)
class TestCaseDetailApi(_CatalogueItemApi):
    output, update_input, renames = TestCaseOutput, TestCaseUpdate, {"requirements": "requirement_ids"}

    def lookup(self, request, pk: int):
        return selectors.testcase_get_for_user(user=request.user, pk=pk)

    def apply_update(self, item, *, by, data: dict) -> None:
        if "steps" in data:
            data["steps"] = [dict(s) for s in data["steps"]]
        services.testcase_update(test_case=item, by=by, data=data)

    def apply_delete(self, item, *, by) -> None:
        services.testcase_delete(test_case=item, by=by)


class BulkLinkApi(APIView):
    @extend_schema(
        summary="Link (or unlink) every given test case to every given requirement",
        request=BulkLinkInput,
        responses={
            200: inline_serializer("BulkLinkResult", {"changed": serializers.IntegerField()}),
        },
    )
    def post(self, request):
        data = validated(BulkLinkInput, request.data)
        v = data.validated_data
        project = project_get_for_user(user=request.user, key=v["project"])
        changed = services.testcases_link_requirements(
            project=project,
            by=request.user,
            test_case_ids=v["test_cases"],
            requirement_ids=v["requirements"],
            unlink=v["unlink"],
        )
        return Response({"changed": changed})


# --- runs and results -----------------------------------------------------------------------------------


class RunListApi(GenericAPIView):
    serializer_class = RunOutput
    queryset = TestRun.objects.none()  # for the schema only; get() reads through the selectors
    filter_backends = ()

    @extend_schema(
        summary="Test runs, newest first (filters: release, source, project)",
        responses={200: RunOutput(many=True)},
        parameters=[
            OpenApiParameter("release", int),
            OpenApiParameter("source", str, enum=RunSource.values),
            OpenApiParameter("project", str),
        ],
    )
    def get(self, request):
        p = request.query_params
        release = p.get("release", "")
        qs = selectors.run_list(
            user=request.user,
            release_id=parse_id(release),
            source=p.get("source", ""),
            project_key=p.get("project", ""),
        )
        return paginated(self.request, self, qs, RunOutput)


class RunDetailApi(APIView):
    @extend_schema(summary="One test run with its counts", responses={200: RunOutput})
    def get(self, request, pk: int):
        return Response(RunOutput(selectors.run_get_for_user(user=request.user, pk=pk)).data)


class RunResultsApi(GenericAPIView):
    serializer_class = ResultOutput
    queryset = TestResult.objects.none()  # for the schema generator only; get() reads through the selectors
    parser_classes = [SafeJSONParser, FormParser, MultiPartParser]

    @extend_schema(
        summary="Results of a run (filters: status, flaky=yes|no, suite, q)",
        parameters=[
            OpenApiParameter("status", str, enum=ResultStatus.values),
            OpenApiParameter("flaky", str),
            OpenApiParameter("suite", str),
            OpenApiParameter("q", str),
        ],
        responses={200: ResultOutput(many=True)},
    )
    def get(self, request, pk: int):
        run = selectors.run_get_for_user(user=request.user, pk=pk)
        p = request.query_params
        qs = selectors.run_results(
            run=run,
            status=p.get("status", ""),
            flaky=p.get("flaky", ""),
            suite=p.get("suite", ""),
            q=p.get("q", "").strip(),
        )
        return paginated(self.request, self, qs, ResultOutput)

    @extend_schema(
        summary="Record a manual result (status and/or per-step outcomes)",
        request=ManualResultInput,
        responses={201: ResultOutput},
    )
    def post(self, request, pk: int):
        run = selectors.run_get_for_user(user=request.user, pk=pk)
        data = validated(ManualResultInput, request.data)
        v = data.validated_data
        case = TestCase.objects.filter(pk=v["test_case"], project_id=run.release.project_id).first()
        if case is None:
            raise serializers.ValidationError({"test_case": ["Unknown test case for this run's project."]})
        result = services.manual_result_record(
            run=run,
            test_case=case,
            by=request.user,
            status=v["status"],
            comment=v["comment"],
            step_results=[dict(s) for s in v["step_results"]],
        )
        return Response(ResultOutput(result).data, status=status.HTTP_201_CREATED)


class RunCompleteApi(APIView):
    @extend_schema(summary="Complete a manual run", request=None, responses={200: RunOutput})
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
    @extend_schema(
        summary="Plan a manual run of a release over selected test cases",
        request=ManualRunInput,
        responses={201: RunOutput},
    )
    def post(self, request, release_id: int):
        release = release_get_for_user(user=request.user, release_id=release_id)
        data = validated(ManualRunInput, request.data)
        v = data.validated_data
        run = services.manual_run_create(
            release=release,
            by=request.user,
            test_case_ids=v["test_cases"],
            name=v["name"],
            environment=v["environment"],
        )
        return Response(RunOutput(run).data, status=status.HTTP_201_CREATED)


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
        data = validated(FileDefectInput, request.data)
        v = data.validated_data
        defect, created = services.defect_file_from_result(
            result=result,
            by=request.user,
            title=v["title"],
            severity=v["severity"],
            description=v["description"],
        )
        # A result already filed answers 200 with the defect it has (a retried request files no twin).
        return Response(
            {"id": defect.pk, "key": defect.key, "created": created},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


# --- traceability ---------------------------------------------------------------------------------------


class TraceabilityApi(APIView):
    @extend_schema(
        summary="Traceability matrix of a release (gap: no_tests | failing | not_run | blocking)",
        parameters=[
            OpenApiParameter("gap", str, enum=list(selectors.GAP_FILTERS)),
            OpenApiParameter("q", str),
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
