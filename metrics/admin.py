from django.contrib import admin

from qualitygov.admin import RefuseWrites

from .models import Alert, AlertRule, MetricSnapshot, PendingRecompute, Webhook


@admin.register(MetricSnapshot)
class MetricSnapshotAdmin(RefuseWrites, admin.ModelAdmin):
    list_display = ["key", "scope", "project", "release", "value", "n", "as_of", "computed_at"]
    list_filter = ["scope", "key", "project"]
    raw_id_fields = ["project", "release"]
    refused = ("change",)


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ["project", "metric", "direction", "threshold", "owner", "active"]
    list_filter = ["project", "active", "direction"]
    raw_id_fields = ["owner", "created_by"]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["project", "release", "metric", "value", "threshold", "fired_at", "cleared_at"]
    list_filter = ["project", "metric"]
    raw_id_fields = ["rule", "release"]


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["project", "name", "url", "active"]
    exclude = ["secret"]


@admin.register(PendingRecompute)
class PendingRecomputeAdmin(admin.ModelAdmin):
    list_display = ["scope", "project", "release", "requested_at"]
