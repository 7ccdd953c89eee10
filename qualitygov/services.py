"""Small helpers shared by the apps' services."""

from typing import Any

from django.db import models


def model_update(
    *, instance: models.Model, fields: list[str], data: dict[str, Any]
) -> tuple[models.Model, dict]:
    """Set the given fields from data where they differ and save only those.

    Returns the instance and a dict {field: (old, new)} of what changed, for audit trails.
    """
    changes: dict[str, tuple[Any, Any]] = {}
    for field in fields:
        if field not in data:
            continue
        old = getattr(instance, field)
        new = data[field]
        if old != new:
            changes[field] = (old, new)
            setattr(instance, field, new)
    if changes:
        instance.full_clean(exclude=[f.name for f in instance._meta.fields if f.name not in changes])
        update_fields = list(changes)
        if any(f.name == "updated_at" for f in instance._meta.fields):
            update_fields.append("updated_at")
        instance.save(update_fields=update_fields)
    return instance, changes
