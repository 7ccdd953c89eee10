from django.contrib import admin

from .models import (
    AuditEvent,
    ChecklistItem,
    ChecklistSignoff,
    Decision,
    GateCondition,
    GateEvaluation,
    QualityGate,
    Waiver,
)


class ConditionInline(admin.TabularInline):
    model = GateCondition
    extra = 0


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 0


@admin.register(QualityGate)
class QualityGateAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "order", "is_active", "revision"]
    list_filter = ["project", "is_active"]
    inlines = [ConditionInline, ChecklistItemInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Append-only records: visible in the admin, never edited or deleted there."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(GateEvaluation)
class GateEvaluationAdmin(ReadOnlyAdmin):
    list_display = ["id", "gate", "release", "status", "requested_by", "requested_via", "created_at"]
    list_filter = ["status", "gate__project"]


class WaiverInline(admin.TabularInline):
    model = Waiver
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["id", "release", "gate", "decision", "decided_by", "decided_at"]
    list_filter = ["decision"]
    inlines = [WaiverInline]


@admin.register(Waiver)
class WaiverAdmin(ReadOnlyAdmin):
    list_display = ["subject", "decision", "owner", "expires"]


@admin.register(ChecklistSignoff)
class ChecklistSignoffAdmin(admin.ModelAdmin):
    list_display = ["item", "release", "signed_by", "signed_at", "revoked_at"]
    raw_id_fields = ["item", "release", "signed_by", "revoked_by"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "project", "action", "summary", "actor"]
    list_filter = ["action", "project"]
