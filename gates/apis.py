"""REST API for gates, evaluations, checklist sign-offs, decisions and the audit log.

Thin: parse input with a serializer, call one service or selector, render with an output serializer.
Evaluations and decisions have no update or delete endpoints (405): they are append-only.
"""

from django.contrib.auth import get_user_model
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics.selectors import release_watermark_subquery
from qualitygov.api import paginated, validated
from qualitygov.errors import DomainError
from qualitygov.services import parse_id
from releases.access import Action, can
from releases.models import Project, Release
from releases.selectors import project_list_for_user, release_get_for_user

from . import selectors, services
from .models import (
    AuditEvent,
    ChecklistSignoff,
    Decision,
    GateEvaluation,
    QualityGate,
    Waiver,
)
from .serializers import (
    AuditEventOutputSerializer,
    DecisionInputSerializer,
    DecisionOutputSerializer,
    EvaluationInputSerializer,
    EvaluationOutputSerializer,
    GateInputSerializer,
    GateOutputSerializer,
    GateUpdateSerializer,
    RevokeInputSerializer,
    SignoffInputSerializer,
    SignoffOutputSerializer,
    WaiverOutputWithContextSerializer,
)

User = get_user_model()


def _required(request, name: str, message: str) -> str:
    """A query parameter the operation cannot do without: 400 naming it when it is missing or empty."""
    value = request.query_params.get(name)
    if not value:
        raise DomainError(message, field=name)
    return value


def _project_from(value, user) -> Project:
    """A project by id or key; 400 when it does not exist, 404 when the user is not a member of it."""
    text = str(value or "").strip()
    pk = parse_id(text)
    project = (
        Project.objects.filter(pk=pk).first() if pk is not None else Project.objects.filter(key=text).first()
    )
    if project is None:
        raise DomainError(f"No project '{text}'.", field="project")
    if not can(user, project, Action.VIEW):
        raise Http404("No such project.")
    return project


# --- Views -----------------------------------------------------------------------


class GateListApi(GenericAPIView):
    queryset = QualityGate.objects.none()  # for the schema; get() builds the real query
    serializer_class = GateOutputSerializer

    @extend_schema(
        parameters=[OpenApiParameter("project", str)], responses={200: GateOutputSerializer(many=True)}
    )
    def get(self, request):
        """Gates of the projects you are a member of; `?project=KEY` narrows to one project."""
        qs = selectors.gate_list_for_user(user=request.user)
        if request.query_params.get("project"):
            project = _project_from(request.query_params["project"], request.user)
            qs = qs.filter(project=project)
        return paginated(self.request, self, qs, GateOutputSerializer)

    @extend_schema(request=GateInputSerializer, responses={201: GateOutputSerializer})
    def post(self, request):
        """Create a gate with nested conditions and checklist items (project admins)."""
        data = validated(GateInputSerializer, request.data)
        values = dict(data.validated_data)
        project = _project_from(values.pop("project"), request.user)
        gate = services.gate_create(project=project, by=request.user, **values)
        return Response(GateOutputSerializer(gate).data, status=status.HTTP_201_CREATED)


class GateDetailApi(APIView):
    @extend_schema(responses={200: GateOutputSerializer})
    def get(self, request, pk: int):
        return Response(GateOutputSerializer(selectors.gate_get_for_user(user=request.user, pk=pk)).data)

    @extend_schema(request=GateUpdateSerializer, responses={200: GateOutputSerializer})
    def put(self, request, pk: int):
        """Change a gate; conditions/checklist_items replace the current lists (rows with id are kept)."""
        gate = selectors.gate_get_for_user(user=request.user, pk=pk)
        data = validated(GateUpdateSerializer, request.data, partial=False)
        values = dict(data.validated_data)
        expected = values.pop("revision", None)
        gate = services.gate_update(gate=gate, by=request.user, data=values, expected_revision=expected)
        return Response(GateOutputSerializer(selectors.gate_list(project=gate.project).get(pk=gate.pk)).data)

    patch = put


class GateEvaluationsApi(GenericAPIView):
    queryset = GateEvaluation.objects.none()  # for the schema; get() builds the real query
    serializer_class = EvaluationOutputSerializer

    @extend_schema(responses={200: EvaluationOutputSerializer(many=True)})
    def get(self, request, pk: int):
        """The gate's evaluations, newest first; `?release=ID` narrows to one release."""
        gate = selectors.gate_get_for_user(user=request.user, pk=pk)
        qs = (
            GateEvaluation.objects.filter(gate=gate)
            .select_related("gate", "requested_by")
            .annotate(watermark=release_watermark_subquery())
        )
        if (release_id := parse_id(request.query_params.get("release"))) is not None:
            qs = qs.filter(release_id=release_id)
        return paginated(self.request, self, qs.order_by("-created_at", "-id"), EvaluationOutputSerializer)

    @extend_schema(request=EvaluationInputSerializer, responses={201: EvaluationOutputSerializer})
    def post(self, request, pk: int):
        """Evaluate the gate for a release now, from fresh metric values. 404 for an unknown gate or release."""
        gate = selectors.gate_get_for_user(user=request.user, pk=pk)
        data = validated(EvaluationInputSerializer, request.data)
        # Only a release of the gate's project: another project's id answers like a missing one (404).
        release = get_object_or_404(
            Release.objects.select_related("project"), pk=data.validated_data["release"], project=gate.project
        )
        evaluation = services.gate_evaluate(
            gate=gate, release=release, by=request.user, via=data.validated_data["via"]
        )
        return Response(EvaluationOutputSerializer(evaluation).data, status=status.HTTP_201_CREATED)


class EvaluationDetailApi(APIView):
    @extend_schema(responses={200: EvaluationOutputSerializer})
    def get(self, request, pk: int):
        evaluation = selectors.evaluation_get_for_user(user=request.user, pk=pk)
        return Response(EvaluationOutputSerializer(evaluation).data)


class DecisionListApi(GenericAPIView):
    queryset = Decision.objects.none()  # for the schema; get() builds the real query
    serializer_class = DecisionOutputSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("project", str),
            OpenApiParameter("release", int),
            OpenApiParameter("gate", int),
        ],
        responses={200: DecisionOutputSerializer(many=True)},
    )
    def get(self, request):
        """Decisions in your projects, newest first; filter with `?project=KEY`, `?release=ID`, `?gate=ID`."""
        project = (
            _project_from(request.query_params["project"], request.user)
            if request.query_params.get("project")
            else None
        )
        qs = selectors.decision_list(
            user=request.user,
            project=project,
            release_id=parse_id(request.query_params.get("release")),
            gate_id=parse_id(request.query_params.get("gate")),
        ).select_related("superseded_by")
        return paginated(self.request, self, qs, DecisionOutputSerializer)

    @extend_schema(
        request=DecisionInputSerializer,
        responses={
            201: DecisionOutputSerializer,
            409: OpenApiResponse(description="A concurrent decision"),
        },
    )
    def post(self, request):
        """Record a go/no-go decision (release managers). Waivers name a condition or checklist_item id."""
        data = validated(DecisionInputSerializer, request.data)
        values = data.validated_data
        # A release you cannot see, a gate of another project and an evaluation of another gate or release answer
        # like missing ones: nothing about other projects is revealed.
        release = get_object_or_404(
            Release.objects.select_related("project").filter(
                project__in=project_list_for_user(user=request.user)
            ),
            pk=values["release"],
        )
        gate = get_object_or_404(
            QualityGate.objects.select_related("project"), pk=values["gate"], project=release.project
        )
        evaluation = selectors.evaluation_get(pk=values.get("evaluation"))
        if evaluation is not None and (evaluation.gate_id, evaluation.release_id) != (gate.pk, release.pk):
            evaluation = None
        if values.get("evaluation") and evaluation is None:
            raise DomainError(f"No evaluation {values['evaluation']}.", field="evaluation")
        decision = services.decision_record(
            release=release,
            gate=gate,
            evaluation=evaluation,
            decision=values["decision"],
            rationale=values["rationale"],
            waivers=[dict(w) for w in values["waivers"]],
            by=request.user,
        )
        decision = (
            selectors.decision_list(user=request.user).select_related("superseded_by").get(pk=decision.pk)
        )
        return Response(DecisionOutputSerializer(decision).data, status=status.HTTP_201_CREATED)


class DecisionDetailApi(APIView):
    @extend_schema(responses={200: DecisionOutputSerializer})
    def get(self, request, pk: int):
        decision = get_object_or_404(
            selectors.decision_list(user=request.user).select_related("superseded_by"), pk=pk
        )
        return Response(DecisionOutputSerializer(decision).data)


class SignoffCreateApi(APIView):
    @extend_schema(request=SignoffInputSerializer, responses={201: SignoffOutputSerializer})
    def post(self, request, pk: int):
        """Sign a checklist item off for a release (only users holding the item's role)."""
        item = selectors.checklist_item_get_for_user(user=request.user, pk=pk)
        data = validated(SignoffInputSerializer, request.data)
        release = get_object_or_404(Release, pk=data.validated_data["release"], project=item.gate.project)
        signoff = services.signoff_create(
            item=item, release=release, by=request.user, comment=data.validated_data["comment"]
        )
        return Response(SignoffOutputSerializer(signoff).data, status=status.HTTP_201_CREATED)


class SignoffRevokeApi(APIView):
    @extend_schema(request=RevokeInputSerializer, responses={200: SignoffOutputSerializer})
    def post(self, request, pk: int):
        """Revoke a sign-off with a reason (kept in its history)."""
        signoff = selectors.signoff_get_for_user(user=request.user, pk=pk)
        data = validated(RevokeInputSerializer, request.data)
        signoff = services.signoff_revoke(
            signoff=signoff, by=request.user, reason=data.validated_data["reason"]
        )
        return Response(SignoffOutputSerializer(signoff).data)


class SignoffListApi(GenericAPIView):
    queryset = ChecklistSignoff.objects.none()  # for the schema; get() builds the real query
    serializer_class = SignoffOutputSerializer

    @extend_schema(
        parameters=[OpenApiParameter("release", int, required=True)],
        responses={200: SignoffOutputSerializer(many=True)},
    )
    def get(self, request):
        """Sign-offs (live and revoked) of one release: `?release=ID` is required."""
        release_id = parse_id(request.query_params.get("release"))
        if release_id is None:
            raise DomainError("Give ?release=ID.", field="release")
        release = release_get_for_user(user=request.user, release_id=release_id)
        return paginated(
            self.request, self, selectors.signoffs_for_release(release=release), SignoffOutputSerializer
        )


class AuditEventListApi(GenericAPIView):
    queryset = AuditEvent.objects.none()  # for the schema; get() builds the real query
    serializer_class = AuditEventOutputSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("project", str, required=True),
            OpenApiParameter("action", str),
            OpenApiParameter("actor", str),
            OpenApiParameter("release", int),
            OpenApiParameter("q", str),
        ],
        responses={200: AuditEventOutputSerializer(many=True)},
    )
    def get(self, request):
        """A project's audit log: `?project=KEY` (required), `action` (prefix), `actor`, `release`, `q`."""
        project = _project_from(_required(request, "project", "Give ?project=KEY."), request.user)
        p = request.query_params
        qs = selectors.audit_events(
            project=project,
            action=p.get("action", ""),
            actor=p.get("actor", ""),
            release_id=parse_id(p.get("release")),
            q=p.get("q", ""),
        )
        return paginated(self.request, self, qs, AuditEventOutputSerializer)


class WaiverListApi(GenericAPIView):
    queryset = Waiver.objects.none()  # for the schema; get() builds the real query
    serializer_class = WaiverOutputWithContextSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("project", str, required=True),
            OpenApiParameter("release", int),
            OpenApiParameter(
                "expired", bool, description="Only waivers past expiry whose decision is in force"
            ),
        ],
        responses={200: WaiverOutputWithContextSerializer(many=True)},
    )
    def get(self, request):
        """Waivers of a project's decisions (`?expired=1`: only the expired ones still in force)."""
        project = _project_from(_required(request, "project", "Give ?project=KEY."), request.user)
        qs = selectors.waiver_list(
            project=project,
            release_id=parse_id(request.query_params.get("release")),
            expired_only=request.query_params.get("expired") in ("1", "true", "yes"),
        )
        return paginated(self.request, self, qs, WaiverOutputWithContextSerializer)
