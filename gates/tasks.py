"""Celery tasks for gates: thin wrappers around gates.services."""

from celery import shared_task

from . import services


@shared_task(name="gates.tasks.evaluate_scheduled_gates")
def evaluate_scheduled_gates() -> int:
    """Evaluate every scheduled active gate for every active release (beat: every six hours)."""
    return services.gates_evaluate_scheduled()
