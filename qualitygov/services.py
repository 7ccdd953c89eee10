"""Small helpers shared by the apps' services."""

from typing import Any

from django.db import models

from .timeparams import parse_instant  # noqa: F401 - the one time parser, re-exported for the apps' APIs


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


# Primary keys are 64-bit signed integers (BigAutoField): a larger number cannot name a row, and SQLite refuses
# even to compare a column with it (OverflowError), so such input is treated as no id at all.
MAX_ID = 2**63 - 1


def parse_id(value) -> int | None:
    """An object id from user input (``"12"``), or None when it is not a whole number that could name a row."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


def parse_ids(values) -> list[int]:
    """The object ids among user input values (``["12", "x", "3"]`` -> ``[12, 3]``); the others are dropped."""
    return [i for i in (parse_id(v) for v in values) if i is not None]
