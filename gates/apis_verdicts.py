"""The verdict API for CI (metrics.md, "Decisions stay true to the evidence"): where a release stands at a gate,
and whether it may make its next move. Read-only; any member of the project may ask.

* ``GET /api/v1/releases/{id}/gates/{gate_id}/verdict/``: the gate's latest evaluation for the release (status,
  time, stale or not) and the decision in force (kind, by, when, waivers, suspended or not, why);
* ``GET /api/v1/releases/{id}/verdict/``: the same for every gate guarding the release's next move, and
  ``may_move`` (what ``qualitygov-cli deploy-check`` exits 0 on).
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from releases.selectors import release_get_for_user

from .models import QualityGate
from .serializers_verdicts import GateVerdictSerializer, ReleaseVerdictSerializer
from .standing import gate_verdict, release_verdict


class GateVerdictApi(APIView):
    @extend_schema(responses={200: GateVerdictSerializer})
    def get(self, request, pk: int, gate_id: int):
        """The latest evaluation of the gate for the release and the decision in force, for CI."""
        release = release_get_for_user(user=request.user, release_id=pk)
        gate = get_object_or_404(QualityGate, pk=gate_id, project_id=release.project_id)
        return Response(GateVerdictSerializer(gate_verdict(release=release, gate=gate)).data)


class ReleaseVerdictApi(APIView):
    @extend_schema(responses={200: ReleaseVerdictSerializer})
    def get(self, request, pk: int):
        """Every gate guarding the release's next move with its verdict; `may_move` when all permit it."""
        release = release_get_for_user(user=request.user, release_id=pk)
        return Response(ReleaseVerdictSerializer(release_verdict(release=release)).data)
