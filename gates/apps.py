from django.apps import AppConfig


class GatesConfig(AppConfig):
    name = "gates"
    verbose_name = "Quality gates and decisions"

    def ready(self) -> None:
        # Gates guard release moves through the interface the releases layer owns (releases.guards).
        from metrics.services import register_after_release_recompute, register_policy_listener
        from releases.guards import register_move_guard

        from .guards import GATE_MOVE_GUARD
        from .services.audit import audit_policy_version
        from .services.live import reevaluate_current_gates

        register_move_guard(GATE_MOVE_GUARD)
        # Live evaluation: the release's current gates are re-evaluated right after its coalesced recompute.
        register_after_release_recompute(reevaluate_current_gates)
        # Changes of the metric policy (risk weights, thresholds, economics) appear in the project's audit log.
        register_policy_listener(audit_policy_version)
