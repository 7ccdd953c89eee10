"""REST API for incidents, post-mortems and action items. Writes need Action.MANAGE_INCIDENTS (403 otherwise)."""

from django.contrib.auth import get_user_model
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema_view
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from defects.models import Defect
from qualitygov import schema
from qualitygov.api import created, id_field, sent, validated
from qualitygov.endpoints import ListApi
from qualitygov.errors import DomainError
from qualitygov.services import parse_id
from releases.access import Action, require
from releases.models import Release
from releases.selectors import project_get_for_action, project_list_for_user

from . import selectors, services
from .models import ActionItem, ActionItemStatus, Incident, IncidentSeverity, PostMortem


class ActionItemOutputSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = ActionItem
        fields = ["id", "incident", "title", "owner", "due_date", "status", "completed_at", "created_at"]


class PostMortemSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = PostMortem
        fields = ["summary", "root_cause", "findings", "lessons", "author", "created_at", "updated_at"]
        read_only_fields = ["author", "created_at", "updated_at"]


class IncidentOutputSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="key", read_only=True)
    release = serializers.PrimaryKeyRelatedField(read_only=True)
    release_version = serializers.CharField(source="release.version", default=None, read_only=True)
    defects = serializers.SlugRelatedField(slug_field="key", many=True, read_only=True)
    is_open = serializers.BooleanField(read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "project",
            "release",
            "release_version",
            "title",
            "description",
            "severity",
            "started_at",
            "detected_at",
            "restored_at",
            "is_open",
            "defects",
            "created_at",
        ]


class IncidentInputSerializer(serializers.Serializer):
    project = serializers.CharField(help_text="Project key (create only).", required=False)
    title = serializers.CharField(max_length=300)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    severity = serializers.ChoiceField(choices=IncidentSeverity.values, default=IncidentSeverity.SEV3)
    release = id_field(required=False, allow_null=True, help_text="Attributed release id.")
    started_at = serializers.DateTimeField()
    detected_at = serializers.DateTimeField(required=False, allow_null=True)
    restored_at = serializers.DateTimeField(required=False, allow_null=True)
    defects = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Defect keys, e.g. PAY-12."
    )


class ActionItemInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    owner = serializers.CharField(required=False, allow_null=True, help_text="Username of a project member.")
    due_date = serializers.DateField(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=ActionItemStatus.values, required=False)


def _resolve(project, data: dict) -> dict:
    """Turn ids/keys into objects of the project (400 when one is unknown)."""
    out = {k: v for k, v in data.items() if k != "project"}
    if "release" in data:
        out["release"] = None
        if data["release"] is not None:
            out["release"] = Release.objects.filter(project=project, pk=data["release"]).first()
            if out["release"] is None:
                raise DomainError("No such release in this project.", field="release")
    if "defects" in data:
        keys = set(data["defects"])
        found = list(Defect.objects.filter(project=project, key__in=keys))
        if len(found) != len(keys):
            raise DomainError("Unknown defect key for this project.", field="defects")
        out["defects"] = found
    if data.get("owner"):
        out["owner"] = (
            get_user_model().objects.filter(username=data["owner"], memberships__project=project).first()
        )
        if out["owner"] is None:
            raise DomainError("The owner must be a member of the project.", field="owner")
    elif "owner" in data:
        out["owner"] = None
    return out


def _incident(request, pk: int, *, action: Action | None = None) -> Incident:
    """The incident in one of the user's projects (404 otherwise); with `action`, 403 unless their role allows it."""
    incident = selectors.incident_get(projects=project_list_for_user(user=request.user), pk=pk)
    if incident is None:
        raise Http404("No such incident.")
    if action is not None:
        require(request.user, incident.project, action)
    return incident


@extend_schema_view(
    get=schema.reads(
        "Incidents of your projects, newest first",
        IncidentOutputSerializer(many=True),
        parameters=[
            OpenApiParameter("project", str),
            OpenApiParameter("severity", str),
            OpenApiParameter("state", str, enum=["open", "restored"]),
            OpenApiParameter("release", int),
        ],
    ),
    post=schema.creates(
        "Record an incident (manager, release manager or admin)",
        IncidentInputSerializer,
        IncidentOutputSerializer,
    ),
)
class IncidentListApi(ListApi):
    serializer_class = IncidentOutputSerializer

    def rows(self, request, params):
        filters = {k: params.get(k) for k in ("project", "severity", "state", "release")}
        if filters["release"]:
            filters["release"] = parse_id(filters["release"])
            if filters["release"] is None:
                raise DomainError("release must be a release id.", field="release")
        qs = selectors.incident_list(projects=project_list_for_user(user=request.user), filters=filters)
        return qs.prefetch_related("defects")

    def post(self, request):
        ser = validated(IncidentInputSerializer, request.data)
        if not ser.validated_data.get("project"):
            raise DomainError("project (key) is required.", field="project")
        project = project_get_for_action(
            user=request.user, key=ser.validated_data["project"], action=Action.MANAGE_INCIDENTS
        )
        data = _resolve(project, ser.validated_data)
        return created(
            IncidentOutputSerializer, services.incident_create(project=project, by=request.user, **data)
        )


class IncidentDetailApi(APIView):
    @schema.reads("One incident", IncidentOutputSerializer)
    def get(self, request, pk: int):
        return Response(IncidentOutputSerializer(_incident(request, pk)).data)

    @schema.changes("Change an incident", IncidentInputSerializer(partial=True), IncidentOutputSerializer)
    def patch(self, request, pk: int):
        incident = _incident(request, pk, action=Action.MANAGE_INCIDENTS)
        data = _resolve(incident.project, sent(request, IncidentInputSerializer))
        defects = data.pop("defects", None)
        incident = services.incident_update(incident=incident, data=data, defects=defects, by=request.user)
        return Response(IncidentOutputSerializer(incident).data)


class IncidentRestoreApi(APIView):
    @schema.changes("Mark an open incident restored (now, or restored_at)", None, IncidentOutputSerializer)
    def post(self, request, pk: int):
        incident = _incident(request, pk, action=Action.MANAGE_INCIDENTS)
        field = serializers.DateTimeField(required=False, allow_null=True)
        restored_at = (
            field.run_validation(request.data.get("restored_at")) if request.data.get("restored_at") else None
        )
        incident = services.incident_restore(incident=incident, by=request.user, restored_at=restored_at)
        return Response(IncidentOutputSerializer(incident).data)


class PostMortemApi(APIView):
    @schema.reads("The incident's post-mortem", PostMortemSerializer)
    def get(self, request, pk: int):
        incident = _incident(request, pk)
        postmortem = PostMortem.objects.filter(incident=incident).first()
        if postmortem is None:
            raise Http404("No post-mortem yet.")
        return Response(PostMortemSerializer(postmortem).data)

    @schema.changes("Write or replace the post-mortem", PostMortemSerializer, PostMortemSerializer)
    def put(self, request, pk: int):
        incident = _incident(request, pk, action=Action.MANAGE_INCIDENTS)
        data = validated(PostMortemSerializer, request.data).validated_data
        return Response(
            PostMortemSerializer(services.postmortem_save(incident=incident, by=request.user, **data)).data
        )


class ActionItemListApi(APIView):
    @schema.reads("Action items of an incident", ActionItemOutputSerializer(many=True))
    def get(self, request, pk: int):
        incident = _incident(request, pk)
        return Response(
            ActionItemOutputSerializer(incident.action_items.select_related("owner"), many=True).data
        )

    @schema.creates("Add an action item", ActionItemInputSerializer, ActionItemOutputSerializer)
    def post(self, request, pk: int):
        incident = _incident(request, pk, action=Action.MANAGE_INCIDENTS)
        data = _resolve(incident.project, validated(ActionItemInputSerializer, request.data).validated_data)
        data.pop("status", None)
        return created(
            ActionItemOutputSerializer,
            services.action_item_create(incident=incident, by=request.user, **data),
        )


class ActionItemDetailApi(APIView):
    @schema.changes(
        "Change an action item (status, owner, due date, title)",
        ActionItemInputSerializer(partial=True),
        ActionItemOutputSerializer,
    )
    def patch(self, request, pk: int):
        projects = project_list_for_user(user=request.user)
        item = (
            ActionItem.objects.select_related("incident__project")
            .filter(pk=pk, incident__project__in=projects)
            .first()
        )
        if item is None:
            raise Http404("No such action item.")
        require(request.user, item.incident.project, Action.MANAGE_INCIDENTS)
        data = _resolve(item.incident.project, sent(request, ActionItemInputSerializer))
        item = services.action_item_update(item=item, data=data, by=request.user)
        return Response(ActionItemOutputSerializer(item).data)
