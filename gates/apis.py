"""REST API for gates, evaluations, checklist sign-offs, decisions and the audit log.

Thin: parse input with a serializer, call one service or selector, render with an output serializer.
Evaluations and decisions have no update or delete endpoints (405): they are append-only.
"""

from django.contrib.auth import get_user_model
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics.selectors import release_watermark_subquery
from qualitygov import schema
from qualitygov.api import created, validated
from qualitygov.endpoints import ListApi
from qualitygov.errors import DomainError
from qualitygov.services import parse_id
from releases.access import Action, can
from releases.models import Project, Release
from releases.selectors import project_list_for_user, release_get_for_user

from . import selectors, services
from .models import (
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


PROJECT_REQUIRED = OpenApiParameter("project", str, required=True)


# The gates lists have always documented `?ordering=` (DRF's default filter backend); their selectors order them.
class _ListApi(ListApi):
    filter_backends = GenericAPIView.filter_backends


def _required_project(request) -> Project:
    """The project `?project=` names (id or key), which the operation cannot do without: 400 naming the parameter when
    it is missing or empty."""
    value = request.query_params.get("project")
    if not value:
        raise DomainError("Give ?project=KEY.", field="project")
    return _project_from(value, request.user)


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


@extend_schema_view(
    get=extend_schema(parameters=[schema.PROJECT], responses={200: GateOutputSerializer(many=True)})
)
class GateListApi(_ListApi):
    """Gates of the projects you are a member of; `?project=KEY` narrows to one project."""

    serializer_class = GateOutputSerializer

    def rows(self, request, params):
        qs = selectors.gate_list_for_user(user=request.user)
        if params.get("project"):
            qs = qs.filter(project=_project_from(params["project"], request.user))
        return qs

    @extend_schema(request=GateInputSerializer, responses={201: GateOutputSerializer})
    def post(self, request):
        """Create a gate with nested conditions and checklist items (project admins)."""
        data = dict(validated(GateInputSerializer, request.data).validated_data)
        project = _project_from(data.pop("project"), request.user)
        return created(GateOutputSerializer, services.gate_create(project=project, by=request.user, **data))


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


@extend_schema_view(get=extend_schema(responses={200: EvaluationOutputSerializer(many=True)}))
class GateEvaluationsApi(_ListApi):
    """The gate's evaluations, newest first; `?release=ID` narrows to one release."""

    serializer_class = EvaluationOutputSerializer

    def rows(self, request, params, pk: int):
        gate = selectors.gate_get_for_user(user=request.user, pk=pk)
        qs = (
            GateEvaluation.objects.filter(gate=gate)
            .select_related("gate", "requested_by")
            .annotate(watermark=release_watermark_subquery())
        )
        if (release_id := parse_id(params.get("release"))) is not None:
            qs = qs.filter(release_id=release_id)
        return qs.order_by("-created_at", "-id")

    @extend_schema(request=EvaluationInputSerializer, responses={201: EvaluationOutputSerializer})
    def post(self, request, pk: int):
        """Evaluate the gate for a release now, from fresh metric values. 404 for an unknown gate or release."""
        gate = selectors.gate_get_for_user(user=request.user, pk=pk)
        data = validated(EvaluationInputSerializer, request.data).validated_data
        # Only a release of the gate's project: another project's id answers like a missing one (404).
        release = get_object_or_404(
            Release.objects.select_related("project"), pk=data["release"], project=gate.project
        )
        evaluation = services.gate_evaluate(gate=gate, release=release, by=request.user, via=data["via"])
        return created(EvaluationOutputSerializer, evaluation)


class EvaluationDetailApi(APIView):
    @extend_schema(responses={200: EvaluationOutputSerializer})
    def get(self, request, pk: int):
        evaluation = selectors.evaluation_get_for_user(user=request.user, pk=pk)
        return Response(EvaluationOutputSerializer(evaluation).data)


@extend_schema_view(
    get=extend_schema(
        parameters=[schema.PROJECT, schema.RELEASE, OpenApiParameter("gate", int)],
        responses={200: DecisionOutputSerializer(many=True)},
    )
)
class DecisionListApi(_ListApi):
    """Decisions in your projects, newest first; filter with `?project=KEY`, `?release=ID`, `?gate=ID`."""

    serializer_class = DecisionOutputSerializer

    def rows(self, request, params):
        project = _project_from(params["project"], request.user) if params.get("project") else None
        qs = selectors.decision_list(
            user=request.user,
            project=project,
            release_id=parse_id(params.get("release")),
            gate_id=parse_id(params.get("gate")),
        )
        return qs.select_related("superseded_by")

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
        return created(DecisionOutputSerializer, decision)


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
        data = validated(SignoffInputSerializer, request.data).validated_data
        release = get_object_or_404(Release, pk=data["release"], project=item.gate.project)
        signoff = services.signoff_create(
            item=item, release=release, by=request.user, comment=data["comment"]
        )
        return created(SignoffOutputSerializer, signoff)


class SignoffRevokeApi(APIView):
    @extend_schema(request=RevokeInputSerializer, responses={200: SignoffOutputSerializer})
    def post(self, request, pk: int):
        """Revoke a sign-off with a reason (kept in its history)."""
        signoff = selectors.signoff_get_for_user(user=request.user, pk=pk)
        data = validated(RevokeInputSerializer, request.data).validated_data
        signoff = services.signoff_revoke(signoff=signoff, by=request.user, reason=data["reason"])
        return Response(SignoffOutputSerializer(signoff).data)


@extend_schema_view(
    get=extend_schema(
        parameters=[OpenApiParameter("release", int, required=True)],
        responses={200: SignoffOutputSerializer(many=True)},
    )
)
class SignoffListApi(_ListApi):
    """Sign-offs (live and revoked) of one release: `?release=ID` is required."""

    serializer_class = SignoffOutputSerializer

    def rows(self, request, params):
        release_id = parse_id(params.get("release"))
        if release_id is None:
            raise DomainError("Give ?release=ID.", field="release")
        return selectors.signoffs_for_release(
            release=release_get_for_user(user=request.user, release_id=release_id)
        )


@extend_schema_view(
    get=extend_schema(
        parameters=[
            PROJECT_REQUIRED,
            OpenApiParameter("action", str),
            OpenApiParameter("actor", str),
            schema.RELEASE,
            schema.TEXT,
        ],
        responses={200: AuditEventOutputSerializer(many=True)},
    )
)
class AuditEventListApi(_ListApi):
    """A project's audit log: `?project=KEY` (required), `action` (prefix), `actor`, `release`, `q`."""

    serializer_class = AuditEventOutputSerializer

    def rows(self, request, params):
        return selectors.audit_events(
            project=_required_project(request),
            action=params.get("action", ""),
            actor=params.get("actor", ""),
            release_id=parse_id(params.get("release")),
            q=params.get("q", ""),
        )


@extend_schema_view(
    get=extend_schema(
        parameters=[
            PROJECT_REQUIRED,
            schema.RELEASE,
            OpenApiParameter(
                "expired", bool, description="Only waivers past expiry whose decision is in force"
            ),
        ],
        responses={200: WaiverOutputWithContextSerializer(many=True)},
    )
)
class WaiverListApi(_ListApi):
    """Waivers of a project's decisions (`?expired=1`: only the expired ones still in force)."""

    serializer_class = WaiverOutputWithContextSerializer
    queryset = (
        Waiver.objects.none()
    )  # the listed model, for the schema (the serializer is not a model serializer)

    def rows(self, request, params):
        return selectors.waiver_list(
            project=_required_project(request),
            release_id=parse_id(params.get("release")),
            expired_only=params.get("expired") in ("1", "true", "yes"),
        )
