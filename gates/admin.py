from django.contrib import admin

from qualitygov.admin import CompactInline, ReadOnlyAdmin, RefuseWrites

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


class ConditionInline(CompactInline):
    model = GateCondition


class ChecklistItemInline(CompactInline):
    model = ChecklistItem


@admin.register(QualityGate)
class QualityGateAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "order", "is_active", "revision"]
    list_filter = ["project", "is_active"]
    inlines = [ConditionInline, ChecklistItemInline]


@admin.register(GateEvaluation)
class GateEvaluationAdmin(ReadOnlyAdmin):
    list_display = ["id", "gate", "release", "status", "requested_by", "requested_via", "created_at"]
    list_filter = ["status", "gate__project"]


class WaiverInline(RefuseWrites, CompactInline):
    model = Waiver
    can_delete = False
    refused = ("add", "change")


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["id", "release", "gate", "decision", "decided_by", "decided_at"]
    list_filter = ["decision"]
    inlines = [WaiverInline]


@admin.register(Waiver)
class WaiverAdmin(ReadOnlyAdmin):
    list_display = ["subject", "decision", "owner", "expires"]


@admin.register(ChecklistSignoff)
class ChecklistSignoffAdmin(RefuseWrites, admin.ModelAdmin):
    list_display = ["item", "release", "signed_by", "signed_at", "revoked_at"]
    raw_id_fields = ["item", "release", "signed_by", "revoked_by"]
    # Revoking keeps the row (who, when, why); a sign-off is never deleted.
    refused = ("delete",)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "project", "action", "summary", "actor"]
    list_filter = ["action", "project"]
