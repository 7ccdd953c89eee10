"""GET/PUT /api/v1/projects/{key}/test-settings/: the project's test-evidence settings (admins change them).

`on_regression`: what a failure of a test linked to a resolved defect does (testing/regressions.py):
`reopen` (the default) or `flag`.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from qualitygov.api import validated
from releases.access import Action
from releases.selectors import project_get_for_action, project_get_for_user

from . import services
from .models import RegressionPolicy
from .regressions import regression_policy

SETTINGS = inline_serializer(
    "ProjectTestSettings",
    {"project": serializers.CharField(), "on_regression": serializers.ChoiceField(RegressionPolicy.choices)},
)


class SettingsInput(serializers.Serializer):
    on_regression = serializers.ChoiceField(choices=RegressionPolicy.choices)


class ProjectTestSettingsApi(APIView):
    @extend_schema(summary="Test-evidence settings of a project", responses={200: SETTINGS})
    def get(self, request, key: str):
        project = project_get_for_user(user=request.user, key=key)
        return Response({"project": project.key, "on_regression": regression_policy(project.pk)})

    @extend_schema(
        summary="Change the test-evidence settings of a project (admins)",
        request=SettingsInput,
        responses={200: SETTINGS},
    )
    def put(self, request, key: str):
        project = project_get_for_action(user=request.user, key=key, action=Action.MANAGE_MEMBERS)
        data = validated(SettingsInput, request.data)
        services.test_settings_update(
            project=project, by=request.user, on_regression=data.validated_data["on_regression"]
        )
        return Response({"project": project.key, "on_regression": regression_policy(project.pk)})
