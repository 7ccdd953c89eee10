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


def _changed_paths(before, after, prefix: str = "") -> list[str]:
    """Dotted paths whose values differ between two policy dicts (a key missing on one side counts as changed)."""
    if isinstance(before, dict) and isinstance(after, dict):
        paths: list[str] = []
        for key in sorted(set(before) | set(after), key=str):
            paths += _changed_paths(before.get(key), after.get(key), f"{prefix}{key}.")
        return paths
    return [] if before == after else [prefix.rstrip(".")]


def audit_policy_version(version, by, previous: dict) -> AuditEvent:
    """Record a saved metric policy version in the project's audit log: who, when, which version, and which
    settings differ from the policy in force before it (the defaults, version 0, before the first save).

    Registered with metrics (metrics.services.register_policy_listener), so it runs in the saving transaction.
    """
    changed = _changed_paths(previous or {}, version.policy)
    listed = ", ".join(changed[:12]) + (f" and {len(changed) - 12} more" if len(changed) > 12 else "")
    summary = f"Metric policy version {version.version} saved; changed: {listed or 'nothing'}"
    if version.comment:
        summary += f" — {version.comment}"
    return audit_record(
        project=version.project,
        action="policy.changed",
        summary=summary,
        actor=by,
        data={"version": version.version, "changed": changed},
    )
