"""Input and output serializers of the gates API (gates.apis)."""

from django.utils import timezone
from rest_framework import serializers

from metrics.selectors import evidence_watermarks
from qualitygov.api import choice_field, id_field
from releases.models import ReleaseStatus

from .models import (
    ORDER_MAX,
    AuditEvent,
    ChecklistSignoff,
    Decision,
    DecisionKind,
    GateEvaluation,
    MissingData,
    Operator,
    QualityGate,
)
from .standing import is_stale


class ConditionSerializer(serializers.Serializer):
    id = id_field(required=False, allow_null=True)
    metric = serializers.CharField(max_length=64)
    operator = serializers.ChoiceField(choices=Operator.choices)
    error_threshold = serializers.FloatField()
    warn_threshold = serializers.FloatField(required=False, allow_null=True, default=None)
    key = serializers.BooleanField(required=False, default=False)
    missing_data = choice_field(MissingData.FAIL)
    order = serializers.IntegerField(required=False, min_value=0, max_value=ORDER_MAX, default=0)
    class_thresholds = serializers.DictField(
        child=serializers.DictField(),
        required=False,
        default=dict,
        help_text="Thresholds per release change class (hotfix, patch, minor, major): "
        '{"major": {"error_threshold": 97, "warn_threshold": 99}}. A class left out uses the default pair.',
    )


class ChecklistItemSerializer(serializers.Serializer):
    id = id_field(required=False, allow_null=True)
    text = serializers.CharField(max_length=300)
    role = serializers.CharField(max_length=20)
    order = serializers.IntegerField(required=False, min_value=0, max_value=ORDER_MAX, default=0)


class GateInputSerializer(serializers.Serializer):
    project = serializers.CharField(help_text="Project id or key.")
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    order = serializers.IntegerField(
        required=False, min_value=0, max_value=ORDER_MAX, allow_null=True, default=None
    )
    is_active = serializers.BooleanField(required=False, default=True)
    evaluate_on_schedule = serializers.BooleanField(required=False, default=True)
    from_status = choice_field(
        ReleaseStatus.READY,
        help_text="The gate guards the release move from_status -> to_status (default ready -> released).",
    )
    to_status = choice_field(ReleaseStatus.RELEASED)
    conditions = ConditionSerializer(many=True, required=False, default=list)
    checklist_items = ChecklistItemSerializer(many=True, required=False, default=list)


class GateUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    order = serializers.IntegerField(required=False, min_value=0, max_value=ORDER_MAX)
    is_active = serializers.BooleanField(required=False)
    evaluate_on_schedule = serializers.BooleanField(required=False)
    from_status = serializers.ChoiceField(choices=ReleaseStatus.choices, required=False)
    to_status = serializers.ChoiceField(choices=ReleaseStatus.choices, required=False)
    revision = serializers.IntegerField(
        required=False, help_text="The revision you edited; 409 if it moved on."
    )
    conditions = ConditionSerializer(many=True, required=False)
    checklist_items = ChecklistItemSerializer(many=True, required=False)


class GateOutputSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.key")
    conditions = ConditionSerializer(many=True)
    checklist_items = ChecklistItemSerializer(many=True)

    class Meta:
        model = QualityGate
        fields = [
            "id", "project", "name", "description", "order", "is_active", "evaluate_on_schedule", "from_status",
            "to_status", "revision", "conditions", "checklist_items", "created_at", "updated_at",
        ]  # fmt: skip


class EvaluationOutputSerializer(serializers.ModelSerializer):
    gate_name = serializers.CharField(source="gate.name")
    revision = serializers.SerializerMethodField()
    requested_by = serializers.SerializerMethodField()
    stale = serializers.SerializerMethodField(
        help_text="Newer evidence exists than this evaluation saw (evidence_at); a re-evaluation is pending."
    )

    class Meta:
        model = GateEvaluation
        fields = [
            "id", "gate", "gate_name", "release", "status", "revision", "conditions", "checklist",
            "requested_by", "requested_via", "created_at", "evidence_at", "stale",
        ]  # fmt: skip

    def get_revision(self, obj) -> int | None:
        return obj.definition.get("revision")

    def get_requested_by(self, obj) -> str | None:
        return obj.requested_by.get_username() if obj.requested_by_id else None

    def get_stale(self, obj) -> bool:
        if not hasattr(obj, "watermark"):  # one evaluation: read its release's watermark
            obj.watermark = evidence_watermarks(release_ids=[obj.release_id]).get(("release", obj.release_id))
        return is_stale(obj)


class EvaluationInputSerializer(serializers.Serializer):
    release = id_field()
    via = serializers.ChoiceField(choices=["api", "cli", "ci"], required=False, default="api")


class WaiverInputSerializer(serializers.Serializer):
    condition = id_field(required=False, allow_null=True)
    checklist_item = id_field(required=False, allow_null=True)
    justification = serializers.CharField()
    owner = serializers.CharField(help_text="Username of the waiver's owner.")
    expires = serializers.DateField()


class DecisionInputSerializer(serializers.Serializer):
    release = id_field()
    gate = id_field()
    evaluation = id_field(required=False, allow_null=True)
    decision = serializers.ChoiceField(choices=DecisionKind.choices)
    rationale = serializers.CharField()
    waivers = WaiverInputSerializer(many=True, required=False, default=list)


class WaiverOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    condition = serializers.IntegerField(source="condition_id", allow_null=True)
    checklist_item = serializers.IntegerField(source="checklist_item_id", allow_null=True)
    subject = serializers.CharField()
    justification = serializers.CharField()
    owner = serializers.CharField(source="owner.username")
    expires = serializers.DateField()
    expired = serializers.SerializerMethodField()

    def get_expired(self, obj) -> bool:
        return obj.expires < timezone.now().date()


class DecisionOutputSerializer(serializers.ModelSerializer):
    decided_by = serializers.CharField(source="decided_by.username")
    evaluation_status = serializers.CharField(source="evaluation.status")
    superseded_by = serializers.SerializerMethodField()
    waivers = WaiverOutputSerializer(many=True)
    suspension = serializers.SerializerMethodField(
        help_text="Why the decision was suspended (reason, detail, at), or null. A suspended decision permits nothing."
    )

    class Meta:
        model = Decision
        fields = [
            "id", "release", "gate", "evaluation", "evaluation_status", "decision", "rationale", "decided_by",
            "decided_at", "supersedes", "superseded_by", "waivers", "economics", "suspension",
        ]  # fmt: skip
        extra_kwargs = {
            "economics": {
                "help_text": "The economics of go/no-go as the decider saw them: p, p_prime, cost_go_now, "
                "cost_postpone, break_even_days, the calibration used, or shown=false with the reason."
            }
        }

    def get_suspension(self, obj) -> dict | None:
        try:
            s = obj.suspension
        except Decision.suspension.RelatedObjectDoesNotExist:
            return None
        return {"reason": s.reason, "detail": s.detail, "at": s.at.isoformat()}

    def get_superseded_by(self, obj) -> int | None:
        try:
            return obj.superseded_by.pk
        except Decision.superseded_by.RelatedObjectDoesNotExist:
            return None


class SignoffInputSerializer(serializers.Serializer):
    release = id_field()
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class RevokeInputSerializer(serializers.Serializer):
    reason = serializers.CharField()


class SignoffOutputSerializer(serializers.ModelSerializer):
    signed_by = serializers.CharField(source="signed_by.username")
    revoked_by = serializers.SerializerMethodField()

    class Meta:
        model = ChecklistSignoff
        fields = ["id", "item", "release", "signed_by", "signed_at", "comment", "revoked_at", "revoked_by",
                  "revoke_reason"]  # fmt: skip

    def get_revoked_by(self, obj) -> str | None:
        return obj.revoked_by.username if obj.revoked_by_id else None


class AuditEventOutputSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    release = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = ["id", "at", "action", "summary", "actor", "release", "data"]

    def get_actor(self, obj) -> str | None:
        return obj.actor.username if obj.actor_id else None

    def get_release(self, obj) -> str | None:
        return obj.release.version if obj.release_id else None


class WaiverOutputWithContextSerializer(WaiverOutputSerializer):
    decision = serializers.IntegerField(source="decision_id")
    release = serializers.IntegerField(source="decision.release_id")
    release_version = serializers.CharField(source="decision.release.version")
    gate = serializers.CharField(source="decision.gate.name")
