"""Choices that several apps share, kept in the core layer so that no app imports another just for a label.

`defects.models` re-exports the defect ones (`DefectStatus`, `OPEN_STATUSES`, `Environment`) beside the rest of
the defect workflow; a lower app (releases) or a sibling (testing, measures) takes them from here.
"""

from django.db import models


class DefectStatus(models.TextChoices):
    NEW = "new", "New"
    TRIAGED = "triaged", "Triaged"
    IN_PROGRESS = "in_progress", "In progress"
    REOPENED = "reopened", "Reopened"
    RESOLVED = "resolved", "Resolved"
    VERIFIED = "verified", "Verified"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (DefectStatus.NEW, DefectStatus.TRIAGED, DefectStatus.IN_PROGRESS, DefectStatus.REOPENED)


class Environment(models.TextChoices):
    DEVELOPMENT = "development", "Development"
    TEST = "test", "Test"
    STAGING = "staging", "Staging"
    PRODUCTION = "production", "Production"
