"""Choices that several apps share, kept in the core layer so that no app imports another just for a label, and
the one way the apps declare a set of choices whose labels only repeat their values.

`defects.models` re-exports the defect ones (`DefectStatus`, `OPEN_STATUSES`, `Environment`) beside the rest of
the defect workflow; a lower app (releases) or a sibling (testing, measures) takes them from here.
"""

import sys

from django.db import models


def text_choices(name: str, *values: str, **labels: str) -> type[models.TextChoices]:
    """A `TextChoices` called `name` with `values` in this order: the member for "in_progress" is IN_PROGRESS,
    labelled "In progress" (the value in sentence case) unless `labels` gives it its own label
    (`text_choices("RunSource", "ci", "manual", ci="CI")`).

    A set whose labels say more than their values (`notifications.kinds.Kind`) reads better as a class."""
    unknown = set(labels) - set(values)
    if unknown:
        raise ValueError(f"{name}: labels for values it does not have: {sorted(unknown)}")
    members = [
        (value.upper(), (value, labels.get(value, value.replace("_", " ").capitalize()))) for value in values
    ]
    # The caller's module, as for a class written there (how collections.namedtuple finds it).
    module = sys._getframe(1).f_globals.get("__name__", __name__)
    return models.TextChoices(name, members, module=module, qualname=name)


DefectStatus = text_choices(
    "DefectStatus", "new", "triaged", "in_progress", "reopened", "resolved", "verified", "closed"
)

OPEN_STATUSES = (DefectStatus.NEW, DefectStatus.TRIAGED, DefectStatus.IN_PROGRESS, DefectStatus.REOPENED)

Environment = text_choices("Environment", "development", "test", "staging", "production")
