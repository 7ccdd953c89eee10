"""Output serializers of the verdict API (gates.apis_verdicts): where a release stands at a gate, for CI."""

from rest_framework import serializers


class VerdictEvaluationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["passed", "warned", "failed"])
    created_at = serializers.DateTimeField()
    evidence_at = serializers.DateTimeField(
        allow_null=True, help_text="The release's evidence watermark this evaluation saw."
    )
    stale = serializers.BooleanField(help_text="Newer evidence exists; a re-evaluation is pending.")


class VerdictWaiverSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    subject = serializers.CharField()
    owner = serializers.CharField()
    expires = serializers.DateField()
    expired = serializers.BooleanField()


class VerdictSuspensionSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=["key_condition_failed", "uncovered_failure", "waiver_expired"])
    detail = serializers.CharField()
    at = serializers.DateTimeField(
        allow_null=True, help_text="Null when noticed on read (the beat task stores it)."
    )


class VerdictDecisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["go", "no_go", "go_with_waivers"])
    by = serializers.CharField()
    at = serializers.DateTimeField()
    rationale = serializers.CharField()
    evaluation = serializers.IntegerField()
    waivers = VerdictWaiverSerializer(many=True)
    suspended = serializers.BooleanField()
    suspension = VerdictSuspensionSerializer(allow_null=True)
    economics = serializers.DictField(
        allow_null=True,
        help_text="The economics of go/no-go as the decider saw them (p, p_prime, cost_go_now, cost_postpone, "
        "break_even_days, the calibration used; or shown=false and the reason). Null for older decisions.",
    )


class GateVerdictSerializer(serializers.Serializer):
    release = serializers.IntegerField()
    gate = serializers.IntegerField()
    gate_name = serializers.CharField()
    guards = serializers.DictField(child=serializers.CharField(), help_text='{"from": status, "to": status}')
    current = serializers.BooleanField(help_text="The gate guards the release's next move.")
    evaluation = VerdictEvaluationSerializer(allow_null=True)
    decision = VerdictDecisionSerializer(allow_null=True)
    state = serializers.ChoiceField(
        choices=["in_force", "no_go", "suspended", "none"], help_text="How the latest decision stands."
    )
    permits = serializers.BooleanField(help_text="A go or go-with-waivers decision is in force.")
    reason = serializers.CharField(
        allow_blank=True, help_text="Why the move is not permitted (empty if it is)."
    )
    pending = serializers.BooleanField(
        help_text="A re-evaluation is pending (the latest evaluation is stale)."
    )


class ReleaseVerdictSerializer(serializers.Serializer):
    release = serializers.IntegerField()
    version = serializers.CharField()
    status = serializers.CharField()
    next_status = serializers.CharField(allow_null=True)
    may_move = serializers.BooleanField(
        help_text="Every gate guarding the next move has a go decision in force (deploy-check exits 0)."
    )
    pending = serializers.BooleanField(help_text="A re-evaluation of a current gate is pending.")
    reason = serializers.CharField(allow_blank=True)
    gates = GateVerdictSerializer(many=True)
