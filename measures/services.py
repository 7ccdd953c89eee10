"""Measure writes: ingesting coverage, SARIF and load-test reports, recording measures, custom measure keys.

Every ingestion parses before it writes (a refused report leaves nothing), runs in one transaction holding the
release's row lock (so two identical uploads racing in store once), stores the upload, its measures (and
findings), and schedules one metric recompute for the release on commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields

from django.db import transaction
from django.utils import timezone

from qualitygov import hooks
from qualitygov.errors import DomainError
from qualitygov.uploads import Upload
from releases.access import Action, authorize
from releases.models import Project, Release

from . import selectors
from .coverage import parse_coverage
from .loadtest import parse_loadtest
from .models import (
    BUILTIN_MEASURES,
    Direction,
    Finding,
    Measure,
    MeasureKey,
    MeasureUpload,
    UploadKind,
    measure_key_validator,
)
from .sarif import HIGH_LEVEL, ParsedFinding, parse_sarif

# Metric keys defined above this layer (metrics registers a provider when its app is ready): a custom measure key
# may not shadow one of them.
RESERVED_KEY_PROVIDERS: list[Callable[[], Iterable[str]]] = []

MAX_MEASURES_PER_CALL = 100
# What a Finding row stores of a parsed SARIF finding: every parsed field but the raw fingerprint, which the
# stored identity is made of.
FINDING_FIELDS = (*(f.name for f in fields(ParsedFinding) if f.name != "fingerprint"), "identity")


@dataclass
class IngestOutcome:
    upload: MeasureUpload
    duplicate: bool
    measures: list[Measure] = field(default_factory=list)

    def as_dict(self) -> dict:
        upload = self.upload
        return {
            "upload": upload.pk,
            "kind": upload.kind,
            "format": upload.format,
            "tool": upload.tool,
            "sha256": upload.sha256,
            "uploaded_at": upload.uploaded_at.isoformat(),
            "duplicate": self.duplicate,
            "summary": upload.summary,
            "measures": [
                {
                    "key": m.key,
                    "value": m.value,
                    "unit": m.unit,
                    "direction": m.direction,
                    "source": m.source,
                    "at": m.at.isoformat(),
                }
                for m in self.measures
            ],
        }


def _evidence_changed(release_id: int) -> None:
    """Tell the layers above (inside the caller's transaction: a rolled-back upload asks for nothing)."""
    hooks.evidence_changed(release_ids=[release_id])


def _repeat_of_latest(*, release: Release, kind: str, sha256: str) -> MeasureUpload | None:
    latest = selectors.latest_upload(release=release, kind=kind)
    return latest if latest is not None and latest.sha256 == sha256 else None


def _store(
    *,
    release: Release,
    kind: str,
    format: str,
    tool: str,
    upload: Upload | None,
    sha256: str,
    summary: dict,
    values: list[tuple[str, float, str]],
    by,
    before_measures: Callable[[MeasureUpload, dt.datetime], list[tuple[str, float, str]]] | None = None,
) -> IngestOutcome:
    """Lock the release, answer a repeat as a duplicate, else store the upload and its measures."""
    with transaction.atomic():
        Release.objects.select_for_update().filter(pk=release.pk).first()
        repeat = _repeat_of_latest(release=release, kind=kind, sha256=sha256)
        if repeat is not None:
            return IngestOutcome(upload=repeat, duplicate=True, measures=list(repeat.measures.all()))
        now = timezone.now()
        record = MeasureUpload.objects.create(
            release=release,
            kind=kind,
            format=format,
            tool=tool[:200],
            sha256=sha256,
            size=upload.size if upload is not None else 0,
            summary=summary,
            uploaded_by=by if getattr(by, "pk", None) else None,
            uploaded_at=now,
        )
        if before_measures is not None:
            values = values + before_measures(record, now)
        definitions = selectors.key_definitions(project=release.project)
        measures = Measure.objects.bulk_create(
            [
                Measure(
                    release=release,
                    key=key,
                    value=value,
                    unit=definitions[key].unit,
                    direction=definitions[key].direction,
                    source=source[:100],
                    at=now,
                    upload=record,
                )
                for key, value, source in values
            ]
        )
        _evidence_changed(release.pk)
    return IngestOutcome(upload=record, duplicate=False, measures=measures)


def coverage_ingest(*, release: Release, upload: Upload, by, format: str | None = None) -> IngestOutcome:
    """Store `line_coverage` and `branch_coverage` of a Cobertura, JaCoCo or LCOV report (format sniffed when not
    given). A total the report does not have (no branches) is not stored: no data, never 0."""
    authorize(by, release.project_id, Action.UPLOAD_RESULTS)
    totals = parse_coverage(upload.file, format=format)
    values = [
        (key, value, totals.format)
        for key, value in (
            ("line_coverage", totals.line_coverage),
            ("branch_coverage", totals.branch_coverage),
        )
        if value is not None
    ]
    return _store(
        release=release,
        kind=UploadKind.COVERAGE,
        format=totals.format,
        tool="",
        upload=upload,
        sha256=upload.sha256,
        summary=totals.summary(),
        values=values,
        by=by,
    )


def loadtest_ingest(*, release: Release, upload: Upload, by, format: str | None = None) -> IngestOutcome:
    """Store `p95_latency_ms` and `error_rate` of a k6 summary or JMeter JTL CSV."""
    authorize(by, release.project_id, Action.UPLOAD_RESULTS)
    totals = parse_loadtest(upload.file, format=format)
    values = [
        (key, value, totals.format)
        for key, value in (("p95_latency_ms", totals.p95_latency_ms), ("error_rate", totals.error_rate))
        if value is not None
    ]
    return _store(
        release=release,
        kind=UploadKind.LOADTEST,
        format=totals.format,
        tool=totals.format,
        upload=upload,
        sha256=upload.sha256,
        summary=totals.summary(),
        values=values,
        by=by,
    )


def sarif_ingest(*, release: Release, upload: Upload, by) -> IngestOutcome:
    """Store the findings of a SARIF 2.1.0 log and the release's `findings_high_total` and `new_findings_high`.

    The release's current findings are those of its latest SARIF upload per tool (a new ruff report replaces the
    previous ruff report, not the bandit one). A high finding (level error) is new when its identity is absent
    from the current findings of the baseline, the project's previous release (by creation time); with no
    previous release every high finding is new.
    """
    authorize(by, release.project_id, Action.UPLOAD_RESULTS)
    parsed = parse_sarif(upload.file)
    tools = sorted(set(parsed.tools))

    def write_findings(record: MeasureUpload, _now) -> list[tuple[str, float, str]]:
        baseline = selectors.baseline_release(release=release)
        known = selectors.finding_identities(release=baseline) if baseline is not None else set()
        Finding.objects.bulk_create(
            [
                Finding(
                    release=release,
                    upload=record,
                    is_new=f.identity not in known,
                    **{name: getattr(f, name) for name in FINDING_FIELDS},
                )
                for f in parsed.findings
            ],
            batch_size=1000,
        )
        current = selectors.current_findings(release=release)
        high = current.filter(level=HIGH_LEVEL)
        source = "sarif:" + ",".join(tools)
        return [
            ("findings_high_total", float(high.count()), source),
            ("new_findings_high", float(high.filter(is_new=True).count()), source),
        ]

    summary = {
        "tools": tools,
        "results": len(parsed.findings),
        "suppressed": parsed.suppressed,
        **parsed.counts(),
    }
    return _store(
        release=release,
        kind=UploadKind.SARIF,
        format="sarif-2.1.0",
        tool=",".join(tools),
        upload=upload,
        sha256=upload.sha256,
        summary=summary,
        values=[],
        by=by,
        before_measures=write_findings,
    )


def measures_record(*, release: Release, items: list[dict], by, source: str = "api") -> IngestOutcome:
    """Record values of built-in or custom measure keys: items are {key, value}. The same list as the release's
    latest measure API call is a repeat (duplicate, nothing stored)."""
    authorize(by, release.project_id, Action.UPLOAD_RESULTS)
    if not items:
        raise DomainError("Send at least one {key, value}.", field="measures", code="empty")
    if len(items) > MAX_MEASURES_PER_CALL:
        raise DomainError(f"At most {MAX_MEASURES_PER_CALL} measures per call.", field="measures")
    definitions = selectors.key_definitions(project=release.project)
    seen: set[str] = set()
    values = []
    for item in items:
        key, value = item["key"], item["value"]
        if key not in definitions:
            raise DomainError(
                f"Unknown measure key '{key}'. Built-in keys: {', '.join(BUILTIN_MEASURES)}; a project admin can "
                "define others.",
                field="key",
                code="unknown_measure",
            )
        if key in seen:
            raise DomainError(f"The key '{key}' appears twice.", field="key", code="duplicate_key")
        if not math.isfinite(value):
            raise DomainError("The value must be a finite number.", field="value")
        seen.add(key)
        values.append((key, float(value), source))
    canonical = json.dumps(sorted([k, v] for k, v, _ in values)).encode()
    return _store(
        release=release,
        kind=UploadKind.MANUAL,
        format="json",
        tool=source,
        upload=None,
        sha256=hashlib.sha256(canonical).hexdigest(),
        summary={"keys": sorted(seen)},
        values=values,
        by=by,
    )


# --- Custom keys -----------------------------------------------------------------------------------------------


def _reserved_keys() -> set[str]:
    reserved = set(BUILTIN_MEASURES)
    for provider in RESERVED_KEY_PROVIDERS:
        reserved.update(provider())
    return reserved


def measure_key_create(
    *,
    project: Project,
    key: str,
    label: str,
    unit: str = "",
    direction: str = Direction.HIGHER,
    description: str = "",
    by,
) -> MeasureKey:
    """Define a project's own measure key (admins). It may not shadow a built-in metric or measure key."""
    authorize(by, project, Action.MANAGE_GATES)
    key = (key or "").strip()
    try:
        measure_key_validator(key)
    except Exception as exc:  # Django's ValidationError: the message names the rule
        raise DomainError(" ".join(getattr(exc, "messages", [str(exc)])), field="key") from None
    if key in _reserved_keys():
        raise DomainError(f"'{key}' is a built-in metric or measure key.", field="key", code="reserved")
    if direction not in Direction.values:
        raise DomainError(f"Direction is one of: {', '.join(Direction.values)}.", field="direction")
    if not (label or "").strip():
        raise DomainError("A label is required.", field="label")
    if MeasureKey.objects.filter(project=project, key=key).exists():
        raise DomainError(f"The project already has a measure key '{key}'.", field="key", code="exists")
    return MeasureKey.objects.create(
        project=project,
        key=key,
        label=label.strip()[:100],
        unit=(unit or "").strip()[:20],
        direction=direction,
        description=(description or "").strip()[:300],
        created_by=by if getattr(by, "pk", None) else None,
    )


def measure_key_delete(*, measure_key: MeasureKey, by) -> None:
    """Remove a custom key (admins). Values already recorded stay stored but no longer count anywhere."""
    authorize(by, measure_key.project_id, Action.MANAGE_GATES)
    measure_key.delete()
