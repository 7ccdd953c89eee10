"""Import defects from a Jira CSV export, creating or updating them by Jira's issue id.

Rules (also in docs/guides/qa-lead.md, "Jira CSV import"):

- Columns are matched by name, case-insensitively; repeated columns (Jira repeats "Affects Version/s",
  "Fix Version/s", "Component/s", "Comment" once per value) are all read. Needed: Summary and one of
  "Issue id" / "Issue key". Optional: Status, Priority, Resolution, Created, Resolved, Updated,
  Affects Version/s, Fix Version/s, Description, Component/s, Assignee, Issue Type.
- external_id = "Issue id" when present, else "Issue key". A second import of the same file updates the
  defects carrying those ids (fields, with audit rows) instead of creating new ones.
- Dates: `30/Sep/21 17:20`, `30/Sep/2021 17:20`, `2021-09-30 17:20[:ss]` and ISO 8601 with or without offset.
  Times without a zone are UTC. A date in the future is clamped to now.
- Priority -> severity / priority: Blocker -> blocker/highest, Critical -> critical/high, Major -> major/medium,
  Minor -> minor/low, Trivial -> trivial/lowest; Jira's newer Highest/High/Medium/Low/Lowest map to
  critical/highest, major/high, major/medium, minor/low, trivial/lowest. Empty -> major/medium.
- Status -> state: Open, To Do, Backlog, New -> new; Triaged, Accepted, Confirmed -> triaged; In Progress,
  Patch Available, In Review -> in_progress; Reopened -> reopened; Resolved, Done -> resolved; Verified ->
  verified; Closed -> closed. Any other status skips the row (reported).
- Resolution: Fixed, Done, Implemented, Resolved, Pending Closed -> fixed; Duplicate -> duplicate;
  Won't Fix, Won't Do, Later, Abandoned, Workaround -> wont_fix; Cannot Reproduce, Works for Me ->
  cannot_reproduce; Invalid, Not A Problem, Not A Bug, Information Provided -> not_a_defect.
  A resolved/verified/closed row without a resolution gets `fixed`; an unknown resolution skips the row.
  Open rows ignore any resolution.
- Releases: every version in Affects Version/s and Fix Version/s becomes a release of the project (status
  planning) if missing. found_in_release = the first Affects Version, fixed_in_release = the first Fix Version.
- Times: a timestamp without a zone (Jira's usual export) is read in `tz` (the command's --timezone, default
  UTC; the command says which it used) and stored in UTC.
- Environment: found_in_environment stays unknown (null) unless an environment is given (--environment):
  a Jira export does not say where a defect was found, so leakage counts none of them.
- History synthesis (Jira CSV exports carry no status history). Unknown dates are never invented: a move is
  synthesized only at a time the row gives. Let C = Created, R = Resolved, U = Updated (each only when the
  row has it; clamped to [C, now]):
    new: '' -> new @C
    triaged: '' -> new @C, new -> triaged @C
    in_progress: with U: '' -> new @C, new -> triaged @C, triaged -> in_progress @U;
                 without: '' -> in_progress @C
    resolved / verified / closed: with R: '' -> new @C, new -> resolved|closed @R (resolution)
                 (verified: then resolved -> verified @R); without R: created straight into that state
                 at C ('' -> resolved|verified|closed @C): no closure at an invented time
    reopened: with R and U (R <= U): '' -> new @C, new -> resolved @R (`fixed`: Jira clears it on reopen),
              resolved -> reopened @U; without them (the usual export, as in the Hadoop data): created
              straight into `reopened` at C, so no closure and no reopen is counted at a time they did not
              happen. Windowed counts (closures, net flow) count only moves with real times; such a defect is
              an arrival at C and stays in the open backlog from C on; reopen_rate does not count it.
  On re-import, a changed final status extends the existing history along the shortest allowed path to
  the new status, timed at R (into a resolved state) or U (otherwise) when the row gives them, else at the
  time of the import (when the change became known), never before the last move.
- Skipped rows (no summary, no id, bad date, unknown status/resolution, id repeated in the file) are
  reported with their line and reason; they never stop the import. A fatal problem (not a CSV, missing
  Summary or id column) writes nothing. Everything happens in one transaction; a dry run rolls it back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from releases.access import Action, authorize
from releases.models import Project, Release

from .jira_rows import (
    BATCH,
    ImportReport,
    JiraImportError,
    JiraRow,
    known_times,
    parse_jira_datetime,
    read_rows,
    shortest_path,
    synthesize_history,
    timezone_named,
)
from .models import (
    RESOLVED_STATUSES,
    STATUSES_NEEDING_RESOLUTION,
    Defect,
    DefectFieldChange,
    DefectStatus,
    DefectTransition,
    Environment,
    Resolution,
)
from .moves import Move
from .services.common import coalesced_recompute, schedule_recompute

# The import API; the reading of rows lives in `jira_rows`.
__all__ = [
    "ImportReport",
    "JiraImportError",
    "import_jira_csv",
    "parse_jira_datetime",
    "shortest_path",
    "timezone_named",
]


def _ensure_releases(*, project: Project, versions: set[str], by, report: ImportReport) -> dict[str, Release]:
    from releases.services import release_create

    existing = {r.version: r for r in Release.objects.filter(project=project, version__in=versions)}
    for version in sorted(versions - set(existing)):
        existing[version] = release_create(project=project, version=version, by=by)
        report.releases_created.append(version)
    return existing


def import_jira_csv(
    *,
    project: Project,
    text: str,
    by,
    dry_run: bool = False,
    environment: str | None = None,
    tz: dt.tzinfo = dt.UTC,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Create or update the project's defects from Jira CSV text, in one transaction (see module doc).

    `by` must hold Action.IMPORT; it becomes the reporter of new defects and the author of synthesized moves and
    field changes. `progress(done, total)` is called after each batch.
    """
    authorize(by, project, Action.IMPORT)
    environment = environment or None  # '' = not given = unknown
    if environment is not None and environment not in Environment.values:
        raise JiraImportError(f"Unknown environment '{environment}'.", field="environment")
    report = ImportReport(dry_run=dry_run)
    rows = read_rows(text, report, tz)
    now = timezone.now()
    users = {
        u.username: u
        for u in get_user_model().objects.filter(
            username__in={r.assignee for r in rows if r.assignee}, memberships__project=project
        )
    }
    with coalesced_recompute(), transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()
        versions = {v for r in rows for v in (*r.affects, *r.fixes)}
        releases = _ensure_releases(project=project, versions=versions, by=by, report=report)
        existing = {
            d.external_id: d
            for d in Defect.objects.filter(project=project, external_id__in=[r.external_id for r in rows])
        }
        next_number = (Defect.objects.filter(project=project).aggregate(m=Max("number"))["m"] or 0) + 1
        total = len(rows)
        touched_releases: set[int] = set()
        for start in range(0, total, BATCH):
            batch = rows[start : start + BATCH]
            new_rows = [r for r in batch if r.external_id not in existing]
            defects = []
            for row in new_rows:
                defects.append(
                    Defect(
                        project=project,
                        number=next_number,
                        key=f"{project.key}-{next_number}",
                        external_id=row.external_id,
                        status=row.status,
                        resolution=row.resolution,
                        found_in_environment=environment,
                        assignee=users.get(row.assignee),
                        reporter=by,
                        created_at=min(row.created, now),
                        **_row_fields(row, releases),
                    )
                )
                next_number += 1
            Defect.objects.bulk_create(defects, batch_size=BATCH)
            moves = []
            for row, defect in zip(new_rows, defects, strict=True):
                for move in synthesize_history(row, now):
                    comment = "Imported from Jira" if not move.from_status else ""
                    moves.append(move.transition(defect=defect, by=by, comment=comment))
                touched_releases.update(
                    x for x in (defect.found_in_release_id, defect.fixed_in_release_id) if x
                )
            DefectTransition.objects.bulk_create(moves, batch_size=BATCH)
            report.created += len(defects)
            report.transitions += len(moves)
            updated_rows = [r for r in batch if r.external_id in existing]
            if updated_rows:
                _update_existing(
                    rows=updated_rows,
                    existing=existing,
                    releases=releases,
                    users=users,
                    by=by,
                    now=now,
                    report=report,
                    touched_releases=touched_releases,
                )
            if progress:
                progress(min(start + BATCH, total), total)
        if dry_run:
            transaction.set_rollback(True)
        else:
            if report.created or report.updated:
                schedule_recompute(release_ids=touched_releases, project_ids=(project.pk,))
    return report


# The defect fields a Jira row sets when it is imported and updates when it is imported again.
ROW_FIELDS = (
    "title",
    "description",
    "severity",
    "priority",
    "component",
    "found_in_release",
    "fixed_in_release",
)


def _row_fields(row: JiraRow, releases: dict[str, Release]) -> dict[str, Any]:
    """The values of ROW_FIELDS a Jira row gives (the first affected and fixed versions are the releases)."""
    return {
        "title": row.title,
        "description": row.description,
        "severity": row.severity,
        "priority": row.priority,
        "component": row.component,
        "found_in_release": releases.get(row.affects[0]) if row.affects else None,
        "fixed_in_release": releases.get(row.fixes[0]) if row.fixes else None,
    }


def _update_existing(
    *,
    rows: list[JiraRow],
    existing: dict[str, Defect],
    releases: dict[str, Release],
    users: dict,
    by,
    now: dt.datetime,
    report: ImportReport,
    touched_releases: set[int],
) -> None:
    """Re-import: update changed fields (with audit rows) and extend the history to the new final status."""
    ids = [existing[r.external_id].pk for r in rows]
    last_moves = dict(
        DefectTransition.objects.filter(defect_id__in=ids)
        .values("defect_id")
        .annotate(m=Max("at"))
        .values_list("defect_id", "m")
    )
    changed_defects, changes, moves = [], [], []
    for row in rows:
        defect = existing[row.external_id]
        wanted = _row_fields(row, releases)
        dirty = False
        for name, new in wanted.items():
            old = getattr(defect, name)
            if old != new:
                changes.append(
                    DefectFieldChange(
                        defect=defect, field=name, old_value=_shown(old), new_value=_shown(new), at=now, by=by
                    )
                )
                setattr(defect, name, new)
                dirty = True
        if defect.status != row.status or (
            row.status in STATUSES_NEEDING_RESOLUTION and defect.resolution != row.resolution
        ):
            _, resolved, updated = known_times(row, now)
            resolved, updated = resolved or now, updated or now  # unknown: when the change became known
            at = max(last_moves.get(defect.pk) or defect.created_at, defect.created_at)
            path = shortest_path(defect.status, row.status)
            if not path:  # same state, new resolution: reopen and resolve again
                path = shortest_path(defect.status, DefectStatus.REOPENED) + shortest_path(
                    DefectStatus.REOPENED, row.status
                )
            current = defect.status
            for state in path:
                when = max(at, resolved if state in RESOLVED_STATUSES else updated)
                resolution = row.resolution if state in RESOLVED_STATUSES else ""
                moves.append(
                    Move(current, state, resolution, when).transition(
                        defect=defect, by=by, comment="Jira re-import"
                    )
                )
                current, at = state, when
            defect.status, defect.resolution = row.status, row.resolution
            if row.resolution != Resolution.DUPLICATE:
                defect.duplicate_of = None
            dirty = True
        if dirty:
            defect.version += 1
            defect.updated_at = now
            changed_defects.append(defect)
            touched_releases.update(x for x in (defect.found_in_release_id, defect.fixed_in_release_id) if x)
            report.updated += 1
        else:
            report.unchanged += 1
    if changed_defects:
        Defect.objects.bulk_update(
            changed_defects,
            [*ROW_FIELDS, "status", "resolution", "duplicate_of", "version", "updated_at"],
            batch_size=BATCH,
        )
    DefectFieldChange.objects.bulk_create(changes, batch_size=BATCH)
    DefectTransition.objects.bulk_create(moves, batch_size=BATCH)
    report.transitions += len(moves)


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Release):
        return value.version
    return str(value)
