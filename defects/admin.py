from django.contrib import admin

from .models import Defect, DefectComment, DefectFieldChange, DefectTransition


class TransitionInline(admin.TabularInline):
    model = DefectTransition
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "resolution", "at", "by", "comment"]

    def has_add_permission(self, request, obj=None):
        # Moves go through the workflow service so history stays consistent.
        return False


class CommentInline(admin.TabularInline):
    model = DefectComment
    extra = 0


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
class DefectTransitionAdmin(admin.ModelAdmin):
    list_display = ["defect", "from_status", "to_status", "resolution", "at", "by"]
    list_filter = ["to_status"]
    raw_id_fields = ["defect", "by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DefectComment)
class DefectCommentAdmin(admin.ModelAdmin):
    list_display = ["defect", "author", "created_at"]
    raw_id_fields = ["defect", "author"]


@admin.register(DefectFieldChange)
class DefectFieldChangeAdmin(admin.ModelAdmin):
    list_display = ["defect", "field", "old_value", "new_value", "at", "by"]
    raw_id_fields = ["defect", "by"]

    def has_change_permission(self, request, obj=None):
        return False
