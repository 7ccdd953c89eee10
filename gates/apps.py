from django.apps import AppConfig


class GatesConfig(AppConfig):
    name = "gates"
    verbose_name = "Quality gates and decisions"

    def ready(self) -> None:
        # Gates guard release moves through the interface the releases layer owns (releases.guards).
        from releases.guards import register_move_guard

        from .guards import GATE_MOVE_GUARD

        register_move_guard(GATE_MOVE_GUARD)
