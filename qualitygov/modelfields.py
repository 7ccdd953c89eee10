"""Field, constraint and abstract-model definitions that the apps' models share: one definition where the meaning
is the same.

They build the same fields and constraints the models spelled out before (the migrations see no change). The
abstract models add fields only, no Meta options, so a model's own `class Meta` stays complete.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


def acting_user(*, blank: bool = True, **options) -> models.ForeignKey:
    """Who did something (created, uploaded, reported, changed it): optional, kept as null when the account is
    deleted, and no reverse accessor on the user."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=blank,
        on_delete=models.SET_NULL,
        related_name="+",
        **options,
    )


def optional_fk(to, *, related_name: str, on_delete=models.SET_NULL, **options) -> models.ForeignKey:
    """A reference a row may go without (null in the database, blank in forms); unless `on_delete` says otherwise,
    it is cleared when the row it points at is deleted."""
    return models.ForeignKey(
        to, null=True, blank=True, on_delete=on_delete, related_name=related_name, **options
    )


def choices_valid(prefix: str, **fields: type[models.TextChoices]) -> list[models.CheckConstraint]:
    """One check constraint per choice column, named `<prefix>_<column>_valid`: the database refuses a value
    outside the column's choices, as the forms and the API do."""
    return [
        models.CheckConstraint(
            condition=Q(**{f"{column}__in": choices.values}), name=f"{prefix}_{column}_valid"
        )
        for column, choices in fields.items()
    ]


class CreatedAt(models.Model):
    """Stamped with the time the row was inserted; not editable afterwards."""

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class Timestamped(CreatedAt):
    """Stamped when inserted and again on every save."""

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class CreatedBy(models.Model):
    """Who created the row and when. Unlike CreatedAt, the time can be given (imports, back-dated records)."""

    created_by = acting_user()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
