"""The project's test-evidence settings (admins change them): what a regression does to its defect."""

from __future__ import annotations

from django.db import transaction

from qualitygov.errors import DomainError
from releases.access import Action, authorize

from ..models import ProjectTestSettings, RegressionPolicy


def test_settings_update(*, project, by, on_regression: str) -> ProjectTestSettings:
    """Set the project's regression policy (`reopen` or `flag`). AccessDenied unless a project admin."""
    authorize(by, project.pk, Action.MANAGE_MEMBERS)
    if on_regression not in RegressionPolicy.values:
        raise DomainError(
            f"Choose what a regression does: {' or '.join(RegressionPolicy.values)}.", field="on_regression"
        )
    with transaction.atomic():
        row, _ = ProjectTestSettings.objects.update_or_create(
            project=project, defaults={"on_regression": on_regression}
        )
    return row
