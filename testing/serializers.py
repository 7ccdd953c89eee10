"""Input and output serializers of the testing API (requirements, test cases, runs, results, bulk links).

An input field is named as the API names it and, through `source`, validates into the name of the service's
argument (`requirements` -> `requirement_ids`), so a view hands the validated data to the service as it is."""

from __future__ import annotations

from rest_framework import serializers

from defects.models import Environment, Severity
from qualitygov.api import choice_field, id_field
from releases.api_scope import ProjectKeyInput

from . import services
from .models import (
    Criticality,
    Requirement,
    TestCase,
    TestCaseKind,
    TestResult,
    TestRun,
)


class RequirementOutput(serializers.ModelSerializer):
    project = serializers.CharField(source="project.key")
    test_cases = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    releases = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Requirement
        fields = [
            "id",
            "project",
            "key",
            "title",
            "description",
            "criticality",
            "component",
            "releases",
            "test_cases",
            "created_at",
            "updated_at",
        ]


class RequirementInput(ProjectKeyInput):
    key = serializers.CharField(max_length=40)
    title = serializers.CharField(max_length=300)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    criticality = choice_field(Criticality.MEDIUM)
    component = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    releases = serializers.ListField(child=id_field(), required=False, default=list, source="release_ids")


class RequirementUpdate(serializers.Serializer):
    key = serializers.CharField(max_length=40, required=False)
    title = serializers.CharField(max_length=300, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    criticality = serializers.ChoiceField(choices=Criticality.choices, required=False)
    component = serializers.CharField(required=False, allow_blank=True, max_length=100)
    releases = serializers.ListField(child=id_field(), required=False, source="release_ids")


class StepSerializer(serializers.Serializer):
    action = serializers.CharField(max_length=2000)
    expected = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class TestCaseOutput(serializers.ModelSerializer):
    project = serializers.CharField(source="project.key")
    requirements = serializers.SerializerMethodField()

    class Meta:
        model = TestCase
        fields = [
            "id",
            "project",
            "title",
            "kind",
            "identity",
            "suite",
            "name",
            "component",
            "preconditions",
            "steps",
            "requirements",
            "created_at",
            "updated_at",
        ]

    def get_requirements(self, obj) -> list[str]:
        return [r.key for r in obj.requirements.all()]


class TestCaseInput(ProjectKeyInput):
    title = serializers.CharField(max_length=500)
    kind = choice_field(TestCaseKind.MANUAL)
    suite = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    component = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    preconditions = serializers.CharField(required=False, allow_blank=True, default="")
    steps = StepSerializer(many=True, required=False, default=list)
    requirements = serializers.ListField(
        child=id_field(), required=False, default=list, source="requirement_ids"
    )


class TestCaseUpdate(serializers.Serializer):
    title = serializers.CharField(max_length=500, required=False)
    kind = serializers.ChoiceField(choices=TestCaseKind.choices, required=False)
    suite = serializers.CharField(required=False, allow_blank=True, max_length=500)
    component = serializers.CharField(required=False, allow_blank=True, max_length=100)
    preconditions = serializers.CharField(required=False, allow_blank=True)
    steps = StepSerializer(many=True, required=False)
    requirements = serializers.ListField(child=id_field(), required=False, source="requirement_ids")


class RunOutput(serializers.ModelSerializer):
    project = serializers.CharField(source="release.project.key")
    release_version = serializers.CharField(source="release.version")
    pass_rate = serializers.FloatField(allow_null=True)

    class Meta:
        model = TestRun
        fields = [
            "id",
            "project",
            "release",
            "release_version",
            "name",
            "revision",
            "environment",
            "source",
            "status",
            "started_at",
            "finished_at",
            "tests",
            "passed",
            "failed",
            "errors",
            "skipped",
            "blocked",
            "flaky",
            "pass_rate",
            "content_hash",
        ]


class ResultOutput(serializers.ModelSerializer):
    test_case_title = serializers.CharField(source="test_case.title")
    identity = serializers.CharField(source="test_case.identity")
    suite = serializers.CharField(source="test_case.suite")

    class Meta:
        model = TestResult
        fields = [
            "id",
            "run",
            "test_case",
            "test_case_title",
            "identity",
            "suite",
            "status",
            "duration",
            "flaky",
            "attempts",
            "message",
            "details",
            "comment",
            "step_results",
            "finished_at",
        ]


class StepResultInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=services.MANUAL_STATUSES)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ManualResultInput(serializers.Serializer):
    test_case = id_field()
    status = serializers.ChoiceField(
        choices=services.MANUAL_STATUSES, required=False, allow_blank=True, default=""
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    step_results = StepResultInput(many=True, required=False, default=list)


class ManualRunInput(serializers.Serializer):
    test_cases = serializers.ListField(child=id_field(), allow_empty=False, source="test_case_ids")
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    environment = choice_field(Environment.TEST)


class BulkLinkInput(serializers.Serializer):
    project = serializers.CharField()
    test_cases = serializers.ListField(child=id_field(), allow_empty=False, source="test_case_ids")
    requirements = serializers.ListField(child=id_field(), allow_empty=False, source="requirement_ids")
    unlink = serializers.BooleanField(default=False)


class FileDefectInput(serializers.Serializer):
    title = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)
    severity = choice_field(Severity.MAJOR)
    description = serializers.CharField(required=False, allow_blank=True, default="")
