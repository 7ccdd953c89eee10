"""REST API of the calibration of the risk score and the economics of go/no-go. Thin: parse, call a selector."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from qualitygov.timeparams import parse_as_of
from releases.selectors import project_get_for_user

from . import risk_selectors
from .apis import AS_OF_PARAM, _release_for


class ProjectCalibrationApi(APIView):
    @extend_schema(
        summary="Calibration of the risk score: per band n, bad, rate; overall; AUC (as of T)",
        description=(
            "Released releases whose 30-day outcome window has closed by T, by the band of their risk score at "
            "release date. `bad` = a hotfix released, an attributed incident started or a valid production defect "
            "found in the release created within 30 days. `rate` is bad/n; `enough` says whether n reaches `min_n` "
            "(5), the least the economics use. `auc` is null with fewer than 5 releases of either outcome. "
            "`releases=1` adds the outcome of every release."
        ),
        parameters=[
            AS_OF_PARAM,
            OpenApiParameter("releases", bool, description="Add the per-release outcomes (default no)."),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, key: str):
        project = project_get_for_user(user=request.user, key=key)
        as_of = parse_as_of(request.query_params.get("as_of"))
        with_releases = request.query_params.get("releases") in ("1", "true", "True")
        return Response(
            risk_selectors.project_calibration(project=project, as_of=as_of, releases=with_releases)
        )


class ReleaseEconomicsApi(APIView):
    @extend_schema(
        summary="Economics of go/no-go for a release: p, p', expected costs, break-even delay (as of T)",
        description=(
            "p = the observed bad rate of the release's risk band (or the project's overall rate where the band "
            "holds fewer than 5 releases); p' = the same for the low band. cost_go_now = p x (hotfix_cost + "
            "incident_cost); cost_postpone[d] = d x delay_cost_per_day + p' x (hotfix_cost + incident_cost) for "
            "d = 1, 3, 7, 14; break_even_days = (p - p') x (hotfix_cost + incident_cost) / delay_cost_per_day. "
            "`shown` is false, with `reason`, where the policy sets no costs or history is too short."
        ),
        parameters=[AS_OF_PARAM],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiResponse(description="Bad as_of.")},
    )
    def get(self, request, pk: int):
        release = _release_for(request.user, pk)
        as_of = parse_as_of(request.query_params.get("as_of"))
        return Response(risk_selectors.release_economics(release=release, as_of=as_of))
