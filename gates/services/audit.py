"""The gates audit log: every change to a governance record appends one row here."""

from releases.models import Project, Release

from ..models import AuditEvent


def audit_record(
    *,
    project: Project,
    action: str,
    summary: str,
    actor=None,
    release: Release | None = None,
    data: dict | None = None,
) -> AuditEvent:
    """Append one row to the project's audit log (summary cut to the column's length)."""
    return AuditEvent.objects.create(
        project=project,
        release=release,
        action=action,
        summary=summary[:500],
        data=data or {},
        actor=actor if getattr(actor, "is_authenticated", False) else None,
    )
