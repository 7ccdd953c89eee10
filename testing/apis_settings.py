"""GET/PUT /api/v1/projects/{key}/test-settings/: the project's test-evidence settings (admins change them).

`on_regression`: what a failure of a test linked to a resolved defect does (testing/regressions.py):
`reopen` (the default) or `flag`.
"""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from qualitygov import schema
from releases.access import Action
from releases.api_scope import project_input
from releases.selectors import project_get_for_user

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
    @schema.reads("Test-evidence settings of a project", SETTINGS)
    def get(self, request, key: str):
        project = project_get_for_user(user=request.user, key=key)
        return Response({"project": project.key, "on_regression": regression_policy(project.pk)})

    @schema.changes("Change the test-evidence settings of a project (admins)", SettingsInput, SETTINGS)
    def put(self, request, key: str):
        project, data = project_input(request, key, SettingsInput, action=Action.MANAGE_MEMBERS)
        services.test_settings_update(project=project, by=request.user, **data)
        return Response({"project": project.key, "on_regression": regression_policy(project.pk)})
