"""REST API for projects, releases, members and the current user.

Thin: parse with an input serializer, call one service or selector, render with an output serializer.
Object-level access: querysets only hold what the caller may see, so other projects' objects answer 404;
writes check the caller's role in the project (403 when it does not allow the action).
"""

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from qualitygov import schema
from qualitygov.api import created, paginated, validated
from qualitygov.errors import DomainError

from . import selectors, services
from .access import ROLE_ACTIONS, Action, require, require_project_creation
from .models import ChangeClass, Membership, Project, Release, ReleaseStatus, Role

# --- Projects -------------------------------------------------------------------------------------------


class ProjectOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = ["key", "name", "description", "created_at"]


class ProjectCreateSerializer(serializers.Serializer):
    key = serializers.CharField(
        max_length=16, help_text="2-16 upper-case letters or digits, starting with a letter."
    )
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class ProjectUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)


@extend_schema_view(
    list=schema.reads("Projects you are a member of", ProjectOutputSerializer(many=True)),
    retrieve=schema.reads("One project by key", ProjectOutputSerializer),
    create=schema.creates(
        "Create a project (you become its admin; default gates are added)",
        ProjectCreateSerializer,
        ProjectOutputSerializer,
    ),
    partial_update=schema.changes(
        "Rename or describe a project (project admins)", ProjectUpdateSerializer, ProjectOutputSerializer
    ),
)
class ProjectViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    lookup_field = "key"
    lookup_value_regex = "[A-Za-z][A-Za-z0-9]{1,15}"
    serializer_class = ProjectOutputSerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Project.objects.none()
        return selectors.project_list_for_user(user=self.request.user)

    def get_object(self):
        return selectors.project_get_for_user(user=self.request.user, key=self.kwargs["key"])

    def create(self, request, *args, **kwargs):
        require_project_creation(request.user)
        data = validated(ProjectCreateSerializer, request.data).validated_data
        return created(ProjectOutputSerializer, services.project_create(by=request.user, **data))

    def partial_update(self, request, *args, **kwargs):
        project = self.get_object()
        if isinstance(request.data, dict) and "metric_policy" in request.data:
            # It used to be accepted and silently ignored; the policy is versioned at its own endpoint now.
            raise DomainError(
                f"The metric policy is changed at /api/v1/projects/{project.key}/policy/ (versioned, admins only).",
                field="metric_policy",
                code="use_policy_endpoint",
            )
        data = validated(ProjectUpdateSerializer, request.data, partial=True)
        project = services.project_update(project=project, data=data.validated_data, by=request.user)
        return Response(ProjectOutputSerializer(project).data)


# --- Releases -------------------------------------------------------------------------------------------


class ReleaseOutputSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.key", read_only=True)
    defect_count = serializers.IntegerField(read_only=True, required=False)
    run_count = serializers.IntegerField(read_only=True, required=False)

    class Meta:
        model = Release
        fields = ["id", "project", *services.RELEASE_FIELDS, "created_at", "defect_count", "run_count"]


class ReleaseInputSerializer(serializers.Serializer):
    project = serializers.CharField(help_text="Project key, e.g. PAY. Fixed once the release exists.")
    version = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=ReleaseStatus.choices, required=False)
    change_class = serializers.ChoiceField(choices=ChangeClass.choices, required=False)
    planned_release_date = serializers.DateField(required=False, allow_null=True)
    actual_release_date = serializers.DateTimeField(required=False, allow_null=True)
    hotfix_for = serializers.PrimaryKeyRelatedField(
        queryset=Release.objects.all(), required=False, allow_null=True
    )
    description = serializers.CharField(required=False, allow_blank=True)


class ReleaseQuerySerializer(serializers.Serializer):
    """The list's filters: a bad status or change class is a 400 with the field's error, empty ones are ignored."""

    project = serializers.CharField(required=False, allow_blank=True, help_text="Project key, e.g. PAY.")
    status = serializers.ChoiceField(choices=ReleaseStatus.choices, required=False, allow_blank=True)
    change_class = serializers.ChoiceField(choices=ChangeClass.choices, required=False, allow_blank=True)


@extend_schema_view(
    list=schema.reads(
        "Releases of your projects", ReleaseOutputSerializer(many=True), parameters=[ReleaseQuerySerializer]
    ),
    retrieve=schema.reads("One release", ReleaseOutputSerializer),
    create=schema.creates(
        "Create a release (manager, release manager, admin)", ReleaseInputSerializer, ReleaseOutputSerializer
    ),
    update=schema.changes("Replace a release's fields", ReleaseInputSerializer, ReleaseOutputSerializer),
    partial_update=schema.changes(
        "Change some of a release's fields", ReleaseInputSerializer, ReleaseOutputSerializer
    ),
    destroy=schema.deletes("Delete a release without recorded evaluations or decisions"),
)
class ReleaseViewSet(viewsets.ModelViewSet):
    serializer_class = ReleaseOutputSerializer
    ordering_fields = ["created_at", "planned_release_date", "actual_release_date", "version", "id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Release.objects.none()
        if self.action != "list":
            return selectors.release_list(user=self.request.user)
        query = ReleaseQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        releases = selectors.release_list(
            user=self.request.user,
            project_key=filters.get("project", "").strip(),
            status=filters.get("status", ""),
        )
        if filters.get("change_class"):
            releases = releases.filter(change_class=filters["change_class"])
        return releases

    def create(self, request, *args, **kwargs):
        data = validated(ReleaseInputSerializer, request.data)
        fields = dict(data.validated_data)
        project = self._project(fields.pop("project"))
        release = services.release_create(project=project, by=request.user, **fields)
        return created(ReleaseOutputSerializer, self._counted(release))

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        release = self.get_object()
        data = validated(ReleaseInputSerializer, request.data, partial=partial)
        fields = dict(data.validated_data)
        key = fields.pop("project", None)
        if key is not None and key.strip().upper() != release.project.key:
            raise serializers.ValidationError({"project": ["A release cannot move to another project."]})
        release = services.release_update(release=release, data=fields, by=request.user)
        return Response(ReleaseOutputSerializer(self._counted(release)).data)

    def _counted(self, release: Release) -> Release:
        """The release as the list shows it, with its defect and run counts (the schema promises them)."""
        return selectors.release_list(user=self.request.user).get(pk=release.pk)

    def destroy(self, request, *args, **kwargs):
        release = self.get_object()
        services.release_delete(release=release, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _project(self, key: str) -> Project:
        project = (
            selectors.project_list_for_user(user=self.request.user).filter(key=key.strip().upper()).first()
        )
        if project is None:
            raise serializers.ValidationError({"project": [f"No project '{key}' among your projects."]})
        return project


# --- Members --------------------------------------------------------------------------------------------


class MemberOutputSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    project = serializers.CharField(source="project.key", read_only=True)

    class Meta:
        model = Membership
        fields = ["username", "role", "project", "created_at"]


class MemberAddSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


@extend_schema_view(
    list=schema.reads("Members of a project", MemberOutputSerializer(many=True)),
    retrieve=schema.reads("One member", MemberOutputSerializer),
    create=schema.creates("Add a member (project admins)", MemberAddSerializer, MemberOutputSerializer),
    partial_update=schema.changes(
        "Change a member's role (project admins)", MemberRoleSerializer, MemberOutputSerializer
    ),
    destroy=schema.deletes("Remove a member (project admins)"),
)
@extend_schema(
    parameters=[
        OpenApiParameter("project_key", str, OpenApiParameter.PATH, description="Project key, e.g. PAY."),
    ]
)
class MemberViewSet(viewsets.GenericViewSet):
    serializer_class = MemberOutputSerializer
    lookup_field = "username"
    lookup_value_regex = r"[\w.@+-]+"
    filter_backends: list = []

    def _project(self) -> Project:
        return selectors.project_get_for_user(user=self.request.user, key=self.kwargs["project_key"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        return selectors.membership_list(project=self._project()).select_related("project")

    def get_object(self):
        return selectors.membership_get(project=self._project(), username=self.kwargs["username"])

    def list(self, request, *args, **kwargs):
        return paginated(self.request, self, self.get_queryset(), MemberOutputSerializer)

    def retrieve(self, request, *args, **kwargs):
        return Response(MemberOutputSerializer(self.get_object()).data)

    def create(self, request, *args, **kwargs):
        project = self._project()
        require(request.user, project, Action.MANAGE_MEMBERS)
        data = validated(MemberAddSerializer, request.data).validated_data
        return created(MemberOutputSerializer, services.member_add(project=project, by=request.user, **data))

    def partial_update(self, request, *args, **kwargs):
        membership = self.get_object()
        require(request.user, membership.project, Action.MANAGE_MEMBERS)
        data = validated(MemberRoleSerializer, request.data)
        membership = services.member_update(
            membership=membership, by=request.user, role=data.validated_data["role"]
        )
        return Response(MemberOutputSerializer(membership).data)

    def destroy(self, request, *args, **kwargs):
        membership = self.get_object()
        services.member_remove(membership=membership, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Me -------------------------------------------------------------------------------------------------


class MeApi(APIView):
    """Who am I, and what may I do in each of my projects."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        email = serializers.EmailField(allow_blank=True)
        is_superuser = serializers.BooleanField()
        roles = serializers.ListField(
            child=inline_serializer(
                "MeRole",
                fields={
                    "project": serializers.CharField(),
                    "project_name": serializers.CharField(),
                    "role": serializers.ChoiceField(choices=Role.choices),
                    "actions": serializers.ListField(child=serializers.CharField()),
                },
            )
        )

    @schema.reads("The authenticated user and their roles", OutputSerializer)
    def get(self, request):
        user = request.user
        roles = [
            {
                "project": m.project.key,
                "project_name": m.project.name,
                "role": m.role,
                "actions": [a.value for a, allowed in ROLE_ACTIONS.items() if m.role in allowed],
            }
            for m in selectors.memberships_for_user(user=user)
        ]
        body = {
            "id": user.pk,
            "username": user.username,
            "email": user.email,
            "is_superuser": user.is_superuser,
            "roles": roles,
        }
        return Response(self.OutputSerializer(body).data)
