from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = "Metrics"

    def ready(self) -> None:
        # measures (an evidence app below us) announces new evidence through its listener list and asks which keys
        # a custom measure key may not shadow; metrics answers both here, so no import points back up.
        from measures import services as measure_services
        from notifications import channels as notification_channels

        from .event_webhooks import notification_event_to_webhooks
        from .registry import REGISTRY
        from .services import schedule_recompute

        def recompute_release(release_id: int) -> None:
            schedule_recompute(release_ids=[release_id])

        if recompute_release.__qualname__ not in {
            f.__qualname__ for f in measure_services.EVIDENCE_CHANGED_LISTENERS
        }:
            measure_services.EVIDENCE_CHANGED_LISTENERS.append(recompute_release)
            measure_services.RESERVED_KEY_PROVIDERS.append(lambda: REGISTRY.keys())

        # Notification events (gate failed, no-go, ...) go to the project's webhooks; notifications sits below us.
        notification_channels.register("webhooks", notification_event_to_webhooks)
