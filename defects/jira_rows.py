"""Reading a Jira CSV export: its columns, dates, field mappings, and the status history a row implies.

The rules are written out in `defects.jira_import` (module docstring); `import_jira_csv` there writes what
this module reads.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zoneinfo
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.utils import timezone

from qualitygov.dates import check_range
from qualitygov.errors import DomainError
from qualitygov.text import LONG_FORBIDDEN, short_text_problem
from releases.models import Release

from .models import (
    ALLOWED_TRANSITIONS,
    RESOLVED_STATUSES,
    Defect,
    DefectStatus,
    Priority,
    Resolution,
    Severity,
)
from .moves import Move

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
        return asdict(self)


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


def known_times(row: JiraRow, now: dt.datetime) -> tuple[dt.datetime, dt.datetime | None, dt.datetime | None]:
    """(C, R or None, U or None): the row's own times, clamped to [C, now]; nothing is filled in."""
    created = min(row.created, now)

    def clamp(value):
        return None if value is None else min(max(value, created), now)

    return created, clamp(row.resolved), clamp(row.updated)


def synthesize_history(row: JiraRow, now: dt.datetime) -> list[Move]:
    """The moves that lead a new defect to the row's final state (see module doc)."""
    created, resolved, updated = known_times(row, now)
    s = row.status
    if s == DefectStatus.NEW:
        return [Move("", DefectStatus.NEW, "", created)]
    if s == DefectStatus.TRIAGED:
        return [
            Move("", DefectStatus.NEW, "", created),
            Move(DefectStatus.NEW, DefectStatus.TRIAGED, "", created),
        ]
    if s == DefectStatus.IN_PROGRESS:
        if updated is None:
            return [Move("", DefectStatus.IN_PROGRESS, "", created)]
        return [
            Move("", DefectStatus.NEW, "", created),
            Move(DefectStatus.NEW, DefectStatus.TRIAGED, "", created),
            Move(DefectStatus.TRIAGED, DefectStatus.IN_PROGRESS, "", updated),
        ]
    if s in RESOLVED_STATUSES:
        if resolved is None:
            return [Move("", s, row.resolution, created)]
        first = DefectStatus.CLOSED if s == DefectStatus.CLOSED else DefectStatus.RESOLVED
        moves = [
            Move("", DefectStatus.NEW, "", created),
            Move(DefectStatus.NEW, first, row.resolution, resolved),
        ]
        if s == DefectStatus.VERIFIED:
            moves.append(Move(DefectStatus.RESOLVED, DefectStatus.VERIFIED, row.resolution, resolved))
        return moves
    # reopened
    if resolved is None or updated is None or updated < resolved:
        return [Move("", DefectStatus.REOPENED, "", created)]
    return [
        Move("", DefectStatus.NEW, "", created),
        Move(DefectStatus.NEW, DefectStatus.RESOLVED, Resolution.FIXED, resolved),
        Move(DefectStatus.RESOLVED, DefectStatus.REOPENED, "", updated),
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
