from django.contrib import admin

from qualitygov.admin import CompactInline, RefuseWrites

from .models import Defect, DefectComment, DefectFieldChange, DefectTransition


class TransitionInline(RefuseWrites, CompactInline):
    model = DefectTransition
    can_delete = False
    readonly_fields = ["from_status", "to_status", "resolution", "at", "by", "comment"]
    # Moves go through the workflow service so history stays consistent.
    refused = ("add",)


class CommentInline(CompactInline):
    model = DefectComment


@admin.register(Defect)
class DefectAdmin(admin.ModelAdmin):
    list_display = [
        "key",
        "title",
        "severity",
        "priority",
        "status",
        "resolution",
        "found_in_release",
        "created_at",
    ]
    list_filter = ["status", "severity", "priority", "found_in_environment", "project"]
    search_fields = ["key", "title", "external_id"]
    list_select_related = ["project", "found_in_release__project"]
    raw_id_fields = ["duplicate_of", "assignee", "reporter", "found_in_release", "fixed_in_release"]
    filter_horizontal = []
    readonly_fields = ["status", "resolution", "version"]
    exclude = ["test_results", "test_cases", "requirements"]
    inlines = [TransitionInline, CommentInline]


@admin.register(DefectTransition)
class DefectTransitionAdmin(RefuseWrites, admin.ModelAdmin):
    list_display = ["defect", "from_status", "to_status", "resolution", "at", "by"]
    list_filter = ["to_status"]
    raw_id_fields = ["defect", "by"]
    refused = ("add", "change")


@admin.register(DefectComment)
class DefectCommentAdmin(admin.ModelAdmin):
    list_display = ["defect", "author", "created_at"]
    raw_id_fields = ["defect", "author"]


@admin.register(DefectFieldChange)
class DefectFieldChangeAdmin(RefuseWrites, admin.ModelAdmin):
    list_display = ["defect", "field", "old_value", "new_value", "at", "by"]
    raw_id_fields = ["defect", "by"]
    refused = ("change",)
