from django.apps import AppConfig


class GatesConfig(AppConfig):
    name = "gates"
    verbose_name = "Quality gates and decisions"

    def ready(self) -> None:
        # Gates guard release moves through the interface the releases layer owns (releases.guards), and give a new
        # project its default gates through qualitygov.hooks: no import points back up.
        from metrics.services import register_after_release_recompute, register_policy_listener
        from qualitygov import hooks
        from releases.guards import register_move_guard

        from .guards import GATE_MOVE_GUARD
        from .services import gates_create_defaults
        from .services.audit import audit_policy_version
        from .services.live import reevaluate_current_gates

        register_move_guard(GATE_MOVE_GUARD)
        hooks.on_project_created(gates_create_defaults)
        # Live evaluation: the release's current gates are re-evaluated right after its coalesced recompute.
        register_after_release_recompute(reevaluate_current_gates)
        # Changes of the metric policy (risk weights, thresholds, economics) appear in the project's audit log.
        register_policy_listener(audit_policy_version)
