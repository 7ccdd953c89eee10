from django.contrib import admin

from qualitygov.admin import CompactInline

from .models import ActionItem, Incident, PostMortem


class ActionItemInline(CompactInline):
    model = ActionItem
    raw_id_fields = ["owner"]


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "release", "severity", "started_at", "restored_at"]
    list_filter = ["project", "severity"]
    search_fields = ["title"]
    raw_id_fields = ["release", "defects", "reported_by"]
    inlines = [ActionItemInline]


@admin.register(PostMortem)
class PostMortemAdmin(admin.ModelAdmin):
    list_display = ["incident", "author", "created_at"]
    raw_id_fields = ["incident", "author"]


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ["title", "incident", "owner", "due_date", "status"]
    list_filter = ["status"]
    raw_id_fields = ["incident", "owner"]
