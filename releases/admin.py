from django.contrib import admin

from qualitygov.admin import CompactInline

from .models import Membership, Project, Release


class MembershipInline(CompactInline):
    model = Membership
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "created_at"]
    search_fields = ["key", "name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["project", "user", "role"]
    list_filter = ["role", "project"]
    search_fields = ["user__username", "project__key"]
    autocomplete_fields = ["user", "project"]


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ["__str__", "status", "change_class", "planned_release_date", "actual_release_date"]
    list_filter = ["status", "change_class", "project"]
    search_fields = ["version", "name", "project__key"]
    list_select_related = ["project"]
