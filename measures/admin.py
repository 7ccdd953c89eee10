from django.contrib import admin

from .models import Finding, Measure, MeasureKey, MeasureUpload


@admin.register(MeasureKey)
class MeasureKeyAdmin(admin.ModelAdmin):
    list_display = ("project", "key", "label", "unit", "direction")
    list_filter = ("project",)


@admin.register(MeasureUpload)
class MeasureUploadAdmin(admin.ModelAdmin):
    list_display = ("release", "kind", "format", "tool", "uploaded_at")
    list_filter = ("kind",)
    readonly_fields = ("sha256", "size", "summary")


@admin.register(Measure)
class MeasureAdmin(admin.ModelAdmin):
    list_display = ("release", "key", "value", "unit", "source", "at")
    list_filter = ("key",)


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    list_display = ("release", "tool", "rule_id", "level", "uri", "start_line", "is_new")
    list_filter = ("level", "is_new", "tool")
