from django.contrib import admin

from qualitygov.admin import CompactInline

from .models import Requirement, TestCase, TestResult, TestRun


@admin.register(Requirement)
class RequirementAdmin(admin.ModelAdmin):
    list_display = ["key", "title", "project", "criticality"]
    list_filter = ["project", "criticality"]
    search_fields = ["key", "title"]
    filter_horizontal = ["releases"]


@admin.register(TestCase)
class TestCaseAdmin(admin.ModelAdmin):
    list_display = ["title", "project", "kind", "suite", "component"]
    list_filter = ["project", "kind"]
    search_fields = ["title", "identity", "suite", "name"]
    filter_horizontal = ["requirements"]


class ResultInline(CompactInline):
    model = TestResult
    raw_id_fields = ["test_case", "executed_by"]
    fields = ["test_case", "status", "duration", "flaky", "message"]


@admin.register(TestRun)
class TestRunAdmin(admin.ModelAdmin):
    list_display = ["id", "release", "name", "source", "revision", "tests", "passed", "failed", "started_at"]
    list_filter = ["source", "environment", "release__project"]
    search_fields = ["name", "revision"]
    list_select_related = ["release__project"]
    raw_id_fields = ["release", "created_by"]


@admin.register(TestResult)
class TestResultAdmin(admin.ModelAdmin):
    list_display = ["id", "test_case", "status", "flaky", "duration", "finished_at"]
    list_filter = ["status", "flaky"]
    raw_id_fields = ["run", "release", "test_case", "executed_by"]
