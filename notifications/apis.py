"""REST API for the caller's own notifications and preferences. Nobody reads or marks another user's."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from qualitygov.api import Pagination, id_field, paginated, validated
from qualitygov.errors import DomainError

from . import selectors, services
from .kinds import Kind
from .models import Notification


class NotificationOutputSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="key", read_only=True)
    read = serializers.BooleanField(source="is_read", read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "project", "title", "body", "url", "created", "read_at", "read"]


class NotificationListApi(APIView):
    pagination_class = Pagination

    @extend_schema(
        summary="My notifications, newest first",
        parameters=[
            OpenApiParameter("unread", bool, description="true: only unread notifications."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: NotificationOutputSerializer(many=True)},
    )
    def get(self, request):
        unread = request.query_params.get("unread", "").lower()
        if unread not in ("", "true", "false", "1", "0"):
            raise DomainError("unread must be true or false.", field="unread")
        rows = selectors.notification_list(user=request.user, unread_only=unread in ("true", "1"))
        body = paginated(request, self, rows, NotificationOutputSerializer).data
        body["unread"] = selectors.unread_count(user=request.user)
        return Response(body)


class MarkReadInputSerializer(serializers.Serializer):
    ids = serializers.ListField(child=id_field(), required=False, default=list, max_length=1000)
    all = serializers.BooleanField(
        required=False, default=False, help_text="true: mark every notification read."
    )

    def validate(self, attrs):
        if not attrs["all"] and not attrs["ids"]:
            raise serializers.ValidationError({"ids": "Give the ids to mark read, or all: true."})
        return attrs


class MarkReadOutputSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many unread notifications were marked read.")
    unread = serializers.IntegerField(help_text="Unread notifications left.")


class NotificationMarkReadApi(APIView):
    @extend_schema(
        summary="Mark my notifications read (ids, or all)",
        description="Ids of notifications that are not yours are ignored, like ids that do not exist.",
        request=MarkReadInputSerializer,
        responses={200: MarkReadOutputSerializer},
    )
    def post(self, request):
        ser = validated(MarkReadInputSerializer, request.data)
        marked = services.notifications_mark_read(
            user=request.user, ids=ser.validated_data["ids"], everything=ser.validated_data["all"]
        )
        return Response({"marked": marked, "unread": selectors.unread_count(user=request.user)})


class PreferenceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    label = serializers.CharField(read_only=True)
    when = serializers.CharField(read_only=True)
    in_app = serializers.BooleanField()
    email = serializers.BooleanField()


class PreferencesInputSerializer(serializers.Serializer):
    preferences = serializers.ListField(
        child=serializers.DictField(), max_length=len(Kind.values) * 2, help_text="[{kind, in_app?, email?}]"
    )


class NotificationPreferencesApi(APIView):
    @extend_schema(summary="My notification preferences", responses={200: PreferenceSerializer(many=True)})
    def get(self, request):
        return Response(PreferenceSerializer(selectors.preferences_for(user=request.user), many=True).data)

    @extend_schema(
        summary="Change my notification preferences",
        description="Each entry names a kind and the channels to switch; channels left out keep their setting.",
        request=PreferencesInputSerializer,
        responses={200: PreferenceSerializer(many=True)},
    )
    def put(self, request):
        ser = validated(PreferencesInputSerializer, request.data)
        choices: dict[str, dict] = {}
        for index, entry in enumerate(ser.validated_data["preferences"]):
            kind = entry.get("kind")
            if not isinstance(kind, str) or not kind:
                raise DomainError(f"Entry {index + 1}: 'kind' is required.", field="preferences")
            choices[kind] = {name: value for name, value in entry.items() if name != "kind"}
        services.preferences_save(user=request.user, choices=choices)
        return Response(PreferenceSerializer(selectors.preferences_for(user=request.user), many=True).data)
