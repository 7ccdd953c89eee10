"""REST API of a project's metric policy: GET the policy in force with its version history, PUT a new version."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from qualitygov.api import validated
from qualitygov.parsers import SafeJSONParser
from releases.access import Action, can
from releases.selectors import project_get_for_action, project_get_for_user

from . import services
from .models import PolicyVersion
from .policy import DEFAULT_POLICY, POLICY_SECTIONS, policy_for

HISTORY = 50


def policy_body(project, *, user) -> dict:
    """The policy in force now, its version, who saved it and when, and the latest versions (two queries)."""
    effective = policy_for(project)
    history = list(
        PolicyVersion.objects.filter(project=project)
        .select_related("created_by")
        .order_by("-version")[:HISTORY]
    )
    current = history[0] if history else None
    return {
        "project": project.key,
        "version": effective.pop("version"),
        "created_at": current.created_at.isoformat() if current else None,
        "created_by": current.created_by.get_username() if current and current.created_by else None,
        "comment": current.comment if current else "",
        "policy": {name: effective[name] for name in POLICY_SECTIONS if name in effective},
        "defaults": {name: DEFAULT_POLICY[name] for name in POLICY_SECTIONS if name in DEFAULT_POLICY},
        "can_edit": can(user, project, Action.MANAGE_GATES),
        "history": [
            {
                "version": v.version,
                "created_at": v.created_at.isoformat(),
                "created_by": v.created_by.get_username() if v.created_by else None,
                "comment": v.comment,
            }
            for v in history
        ],
    }


class PolicyInput(serializers.Serializer):
    policy = serializers.DictField(
        help_text="Sections: risk {metric: {pass, warn, weight, direction}}, window_days, target_mttr_hours, "
        "stability_weights {cfr, leakage, reopen, restore}. Left-out sections take the defaults."
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    expected_version = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)


class ProjectPolicyApi(APIView):
    parser_classes = [SafeJSONParser]

    @extend_schema(
        summary="The project's metric policy in force, with its version history",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, key: str):
        project = project_get_for_user(user=request.user, key=key)
        return Response(policy_body(project, user=request.user))

    @extend_schema(
        summary="Save a new version of the project's metric policy (project admins)",
        request=PolicyInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def put(self, request, key: str):
        project = project_get_for_action(user=request.user, key=key, action=Action.MANAGE_GATES)
        ser = validated(PolicyInput, request.data)
        services.policy_update(
            project=project,
            data=ser.validated_data["policy"],
            by=request.user,
            comment=ser.validated_data["comment"],
            expected_version=ser.validated_data.get("expected_version"),
        )
        return Response(policy_body(project, user=request.user))
