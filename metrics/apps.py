from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = "Metrics"

    def ready(self) -> None:
        # The evidence apps below announce changed evidence through qualitygov.hooks, and measures asks which keys
        # a custom measure key may not shadow; metrics answers both here, so no import points back up.
        from measures import services as measure_services
        from notifications import channels as notification_channels
        from qualitygov import hooks

        from . import services
        from .event_webhooks import notification_event_to_webhooks
        from .registry import REGISTRY

        def recompute(**scopes) -> None:
            # Looked up on the module at call time, so a test may replace services.schedule_recompute.
            services.schedule_recompute(**scopes)

        hooks.on_evidence_changed(recompute)
        if not measure_services.RESERVED_KEY_PROVIDERS:
            measure_services.RESERVED_KEY_PROVIDERS.append(lambda: REGISTRY.keys())

        # Notification events (gate failed, no-go, ...) go to the project's webhooks; notifications sits below us.
        notification_channels.register("webhooks", notification_event_to_webhooks)
