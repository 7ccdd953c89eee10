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

import csv
import datetime as dt
import io
import re
import zoneinfo
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from qualitygov.dates import check_range
from qualitygov.errors import DomainError
from qualitygov.text import LONG_FORBIDDEN, short_text_problem
from releases.models import Project, Release

from .models import (
    ALLOWED_TRANSITIONS,
    RESOLVED_STATUSES,
    STATUSES_NEEDING_RESOLUTION,
    Defect,
    DefectFieldChange,
    DefectStatus,
    DefectTransition,
    Environment,
    Priority,
    Resolution,
    Severity,
)
from .services import _coalesced_recompute, _schedule_recompute

TITLE_MAX = Defect._meta.get_field("title").max_length
EXTERNAL_ID_MAX = Defect._meta.get_field("external_id").max_length
VERSION_MAX = Release._meta.get_field("version").max_length
BATCH = 500

PRIORITY_MAP: dict[str, tuple[str, str]] = {
    "blocker": (Severity.BLOCKER, Priority.HIGHEST),
    "critical": (Severity.CRITICAL, Priority.HIGH),
    "major": (Severity.MAJOR, Priority.MEDIUM),
    "minor": (Severity.MINOR, Priority.LOW),
    "trivial": (Severity.TRIVIAL, Priority.LOWEST),
    "highest": (Severity.CRITICAL, Priority.HIGHEST),
    "high": (Severity.MAJOR, Priority.HIGH),
    "medium": (Severity.MAJOR, Priority.MEDIUM),
    "low": (Severity.MINOR, Priority.LOW),
    "lowest": (Severity.TRIVIAL, Priority.LOWEST),
    "": (Severity.MAJOR, Priority.MEDIUM),
}
STATUS_MAP: dict[str, str] = {
    "open": DefectStatus.NEW,
    "to do": DefectStatus.NEW,
    "backlog": DefectStatus.NEW,
    "new": DefectStatus.NEW,
    "triaged": DefectStatus.TRIAGED,
    "accepted": DefectStatus.TRIAGED,
    "confirmed": DefectStatus.TRIAGED,
    "in progress": DefectStatus.IN_PROGRESS,
    "patch available": DefectStatus.IN_PROGRESS,
    "in review": DefectStatus.IN_PROGRESS,
    "reopened": DefectStatus.REOPENED,
    "resolved": DefectStatus.RESOLVED,
    "done": DefectStatus.RESOLVED,
    "verified": DefectStatus.VERIFIED,
    "closed": DefectStatus.CLOSED,
}
RESOLUTION_MAP: dict[str, str] = {
    "fixed": Resolution.FIXED,
    "done": Resolution.FIXED,
    "implemented": Resolution.FIXED,
    "resolved": Resolution.FIXED,
    "pending closed": Resolution.FIXED,
    "duplicate": Resolution.DUPLICATE,
    "won't fix": Resolution.WONT_FIX,
    "won't do": Resolution.WONT_FIX,
    "later": Resolution.WONT_FIX,
    "abandoned": Resolution.WONT_FIX,
    "workaround": Resolution.WONT_FIX,
    "cannot reproduce": Resolution.CANNOT_REPRODUCE,
    "works for me": Resolution.CANNOT_REPRODUCE,
    "invalid": Resolution.NOT_A_DEFECT,
    "not a problem": Resolution.NOT_A_DEFECT,
    "not a bug": Resolution.NOT_A_DEFECT,
    "information provided": Resolution.NOT_A_DEFECT,
}
_DATE_FORMATS = (
    "%d/%b/%y %H:%M",
    "%d/%b/%Y %H:%M",
    "%d/%b/%y %I:%M %p",
    "%d/%b/%Y %I:%M %p",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
    "%d/%b/%y",
    "%d/%b/%Y",
)


class JiraImportError(DomainError):
    """The file cannot be imported at all; nothing was written."""


@dataclass
class SkippedRow:
    line: int
    external_id: str
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    transitions: int = 0
    releases_created: list[str] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "transitions": self.transitions,
            "releases_created": self.releases_created,
            "skipped": [s.__dict__ for s in self.skipped],
            "dry_run": self.dry_run,
        }


@dataclass
class JiraRow:
    line: int
    external_id: str
    title: str
    description: str
    status: str
    resolution: str
    severity: str
    priority: str
    created: dt.datetime
    resolved: dt.datetime | None
    updated: dt.datetime | None
    affects: list[str]
    fixes: list[str]
    component: str
    assignee: str


def parse_jira_datetime(value: str, tz: dt.tzinfo = dt.UTC) -> dt.datetime | None:
    """A Jira date (`30/Sep/21 17:20`, ISO 8601, ...) as an aware UTC datetime; None for an empty cell.
    A time without a zone is read in `tz`."""
    value = (value or "").strip()
    if not value:
        return None
    iso = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", value.replace("Z", "+00:00"))
    try:
        parsed = dt.datetime.fromisoformat(iso)
    except ValueError:
        parsed = None
        for fmt in _DATE_FORMATS:
            try:
                parsed = dt.datetime.strptime(value, fmt)  # noqa: DTZ007 - made aware just below
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValueError(f"unreadable date '{value}'")
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=tz)
    check_range(parsed)
    return parsed.astimezone(dt.UTC)


def timezone_named(name: str | None) -> dt.tzinfo:
    """The IANA time zone `name` (default UTC); JiraImportError (400) for an unknown name."""
    if not name or name.upper() == "UTC":
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise JiraImportError(
            f"Unknown time zone '{name}' (use an IANA name such as Europe/Berlin).", field="timezone"
        ) from exc


def _split_versions(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part[:VERSION_MAX])
    return out


def read_rows(text: str, report: ImportReport, tz: dt.tzinfo = dt.UTC) -> list[JiraRow]:
    """Parse the CSV text into rows; bad rows go to report.skipped. Raises JiraImportError if unusable."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise JiraImportError(
            f"The file contains a NUL character on line {line}; nothing was imported. "
            "NUL bytes usually mean the file is not a CSV text export (UTF-16, a spreadsheet).",
            field="file",
        )
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
    except csv.Error as exc:
        raise JiraImportError(f"The file is not a readable CSV: {exc}.") from exc
    if not header:
        raise JiraImportError("The file is empty.")
    columns: dict[str, list[int]] = {}
    for index, name in enumerate(header):
        columns.setdefault(name.strip().lower(), []).append(index)
    if "summary" not in columns:
        raise JiraImportError(f"The file has no 'Summary' column (columns: {', '.join(header[:20])}).")
    if "issue id" not in columns and "issue key" not in columns:
        raise JiraImportError("The file has neither an 'Issue id' nor an 'Issue key' column.")

    def cells(row: list[str], name: str) -> list[str]:
        return [row[i].strip() for i in columns.get(name, ()) if i < len(row) and row[i].strip()]

    def cell(row: list[str], name: str) -> str:
        found = cells(row, name)
        return found[0] if found else ""

    rows: list[JiraRow] = []
    seen: dict[str, int] = {}
    try:
        for raw in reader:
            line = reader.line_num
            if not any(c.strip() for c in raw):
                continue
            report.rows += 1
            external_id = (cell(raw, "issue id") or cell(raw, "issue key"))[:EXTERNAL_ID_MAX]
            title = cell(raw, "summary")
            if not external_id:
                report.skipped.append(SkippedRow(line, "", "no Issue id / Issue key"))
                continue
            if not title:
                report.skipped.append(SkippedRow(line, external_id, "empty Summary"))
                continue
            if external_id in seen:
                report.skipped.append(SkippedRow(line, external_id, f"same id as line {seen[external_id]}"))
                continue
            status_text = cell(raw, "status").lower() or "open"
            status = STATUS_MAP.get(status_text)
            if status is None:
                report.skipped.append(
                    SkippedRow(line, external_id, f"unknown Status '{cell(raw, 'status')}'")
                )
                continue
            resolution = ""
            if status in RESOLVED_STATUSES:
                res_text = cell(raw, "resolution").lower()
                resolution = RESOLUTION_MAP.get(res_text, "") if res_text else Resolution.FIXED
                if not resolution:
                    report.skipped.append(
                        SkippedRow(line, external_id, f"unknown Resolution '{cell(raw, 'resolution')}'")
                    )
                    continue
            priority_text = cell(raw, "priority").lower()
            if priority_text not in PRIORITY_MAP:
                report.skipped.append(
                    SkippedRow(line, external_id, f"unknown Priority '{cell(raw, 'priority')}'")
                )
                continue
            severity, priority = PRIORITY_MAP[priority_text]
            try:
                created = parse_jira_datetime(cell(raw, "created"), tz)
                resolved = parse_jira_datetime(cell(raw, "resolved"), tz)
                updated = parse_jira_datetime(cell(raw, "updated"), tz)
            except ValueError as exc:
                report.skipped.append(SkippedRow(line, external_id, str(exc)))
                continue
            if created is None:
                report.skipped.append(SkippedRow(line, external_id, "empty Created date"))
                continue
            title = re.sub(r"[\t\r\n\u2028\u2029]+", " ", title)  # a summary is one line
            short = [("Issue id", external_id), ("Summary", title), ("Assignee", cell(raw, "assignee"))]
            short += [("Component/s", c) for c in cells(raw, "component/s")[:1]]
            short += [("Version", v) for v in cells(raw, "affects version/s") + cells(raw, "fix version/s")]
            broken = next(((label, p) for label, value in short if (p := short_text_problem(value))), None)
            if broken is not None:
                report.skipped.append(SkippedRow(line, external_id, f"{broken[0]} {broken[1]}"))
                continue
            seen[external_id] = line
            if len(title) > TITLE_MAX:
                title = title[: TITLE_MAX - 1] + "…"
            rows.append(
                JiraRow(
                    line=line,
                    external_id=external_id,
                    title=title,
                    # Real exports carry stray control characters (the Hadoop one has backspaces): dropped.
                    description=LONG_FORBIDDEN.sub("", cell(raw, "description")),
                    status=status,
                    resolution=resolution,
                    severity=severity,
                    priority=priority,
                    created=created,
                    resolved=resolved,
                    updated=updated,
                    affects=_split_versions(cells(raw, "affects version/s")),
                    fixes=_split_versions(cells(raw, "fix version/s")),
                    component=(cells(raw, "component/s") or [""])[0][:100],
                    assignee=cell(raw, "assignee"),
                )
            )
    except csv.Error as exc:
        raise JiraImportError(f"The CSV is malformed near line {reader.line_num}: {exc}.") from exc
    return rows


def _known_times(
    row: JiraRow, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime | None, dt.datetime | None]:
    """(C, R or None, U or None): the row's own times, clamped to [C, now]; nothing is filled in."""
    created = min(row.created, now)

    def clamp(value):
        return None if value is None else min(max(value, created), now)

    return created, clamp(row.resolved), clamp(row.updated)


def synthesize_history(row: JiraRow, now: dt.datetime) -> list[tuple[str, str, str, dt.datetime]]:
    """The moves (from, to, resolution, at) that lead a new defect to the row's final state (see module doc)."""
    created, resolved, updated = _known_times(row, now)
    s = row.status
    if s == DefectStatus.NEW:
        return [("", DefectStatus.NEW, "", created)]
    if s == DefectStatus.TRIAGED:
        return [("", DefectStatus.NEW, "", created), (DefectStatus.NEW, DefectStatus.TRIAGED, "", created)]
    if s == DefectStatus.IN_PROGRESS:
        if updated is None:
            return [("", DefectStatus.IN_PROGRESS, "", created)]
        return [
            ("", DefectStatus.NEW, "", created),
            (DefectStatus.NEW, DefectStatus.TRIAGED, "", created),
            (DefectStatus.TRIAGED, DefectStatus.IN_PROGRESS, "", updated),
        ]
    if s in RESOLVED_STATUSES:
        if resolved is None:
            return [("", s, row.resolution, created)]
        first = DefectStatus.CLOSED if s == DefectStatus.CLOSED else DefectStatus.RESOLVED
        moves = [("", DefectStatus.NEW, "", created), (DefectStatus.NEW, first, row.resolution, resolved)]
        if s == DefectStatus.VERIFIED:
            moves.append((DefectStatus.RESOLVED, DefectStatus.VERIFIED, row.resolution, resolved))
        return moves
    # reopened
    if resolved is None or updated is None or updated < resolved:
        return [("", DefectStatus.REOPENED, "", created)]
    return [
        ("", DefectStatus.NEW, "", created),
        (DefectStatus.NEW, DefectStatus.RESOLVED, Resolution.FIXED, resolved),
        (DefectStatus.RESOLVED, DefectStatus.REOPENED, "", updated),
    ]


def shortest_path(start: str, goal: str) -> list[str]:
    """The states after `start` on the shortest allowed path to `goal` (empty when already there)."""
    if start == goal:
        return []
    previous: dict[str, str] = {start: ""}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        for nxt in ALLOWED_TRANSITIONS.get(state, ()):
            if nxt not in previous:
                previous[nxt] = state
                if nxt == goal:
                    path = [goal]
                    while previous[path[-1]] != start:
                        path.append(previous[path[-1]])
                    return path[::-1]
                queue.append(nxt)
    return []


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

    `by` must hold Action.IMPORT (checked by the caller); it becomes the reporter of new defects and the
    author of synthesized moves and field changes. `progress(done, total)` is called after each batch.
    """
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
    with _coalesced_recompute(), transaction.atomic():
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
                found = releases.get(row.affects[0]) if row.affects else None
                fixed = releases.get(row.fixes[0]) if row.fixes else None
                defects.append(
                    Defect(
                        project=project,
                        number=next_number,
                        key=f"{project.key}-{next_number}",
                        external_id=row.external_id,
                        title=row.title,
                        description=row.description,
                        severity=row.severity,
                        priority=row.priority,
                        component=row.component,
                        status=row.status,
                        resolution=row.resolution,
                        found_in_release=found,
                        fixed_in_release=fixed,
                        found_in_environment=environment,
                        assignee=users.get(row.assignee),
                        reporter=by,
                        created_at=min(row.created, now),
                    )
                )
                next_number += 1
            Defect.objects.bulk_create(defects, batch_size=BATCH)
            moves = []
            for row, defect in zip(new_rows, defects, strict=True):
                for from_status, to_status, resolution, at in synthesize_history(row, now):
                    moves.append(
                        DefectTransition(
                            defect_id=defect.pk,
                            from_status=from_status,
                            to_status=to_status,
                            resolution=resolution,
                            at=at,
                            by=by,
                            comment="Imported from Jira" if not from_status else "",
                        )
                    )
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
                _schedule_recompute(release_ids=touched_releases, project_ids=(project.pk,))
    return report


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
    fields = [
        "title",
        "description",
        "severity",
        "priority",
        "component",
        "found_in_release",
        "fixed_in_release",
    ]
    for row in rows:
        defect = existing[row.external_id]
        wanted = {
            "title": row.title,
            "description": row.description,
            "severity": row.severity,
            "priority": row.priority,
            "component": row.component,
            "found_in_release": releases.get(row.affects[0]) if row.affects else None,
            "fixed_in_release": releases.get(row.fixes[0]) if row.fixes else None,
        }
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
            _, resolved, updated = _known_times(row, now)
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
                    DefectTransition(
                        defect=defect,
                        from_status=current,
                        to_status=state,
                        resolution=resolution,
                        at=when,
                        by=by,
                        comment="Jira re-import",
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
            [*fields, "status", "resolution", "duplicate_of", "version", "updated_at"],
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
