"""Celery tasks for gates: thin wrappers around gates.services."""

from celery import shared_task

from . import notices, services


@shared_task(name="gates.tasks.evaluate_scheduled_gates")
def evaluate_scheduled_gates() -> int:
    """Evaluate every scheduled active gate guarding an active release's next move (beat: every six hours)."""
    return services.gates_evaluate_scheduled()


@shared_task(name="gates.tasks.expire_waivers", acks_late=True)
def expire_waivers() -> int:
    """Beat job: suspend the go decisions whose waivers expired; returns how many were suspended."""
    return len(services.expire_waivers())


@shared_task(name="gates.tasks.notify_expiring_waivers")
def notify_expiring_waivers() -> int:
    """Beat (daily): announce waivers of decisions in force that expire within three days, once each."""
    return notices.waivers_notify_expiring()
