"""Measure reads: key definitions of a project, values as of T, findings and baselines."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery

from releases.models import Project, Release

from .models import BUILTIN_MEASURES, Finding, Measure, MeasureKey, MeasureUpload, UploadKind


@dataclass(frozen=True)
class KeyDefinition:
    key: str
    label: str
    unit: str
    direction: str
    description: str
    builtin: bool


def key_definitions(*, project: Project | int) -> dict[str, KeyDefinition]:
    """Every measure key of the project: the built-in ones, then its own (one query)."""
    out = {
        m.key: KeyDefinition(m.key, m.label, m.unit, str(m.direction), m.description, True)
        for m in BUILTIN_MEASURES.values()
    }
    project_id = project if isinstance(project, int) else project.pk
    for k in MeasureKey.objects.filter(project_id=project_id).order_by("key"):
        out[k.key] = KeyDefinition(k.key, k.label, k.unit, k.direction, k.description, False)
    return out


def custom_keys(*, project: Project | int) -> QuerySet:
    project_id = project if isinstance(project, int) else project.pk
    return MeasureKey.objects.filter(project_id=project_id).order_by("key")


def latest_measures(*, release: Release | int, as_of: dt.datetime, keys=None) -> dict[str, Measure]:
    """The latest value of each measure key of the release at or before T (greatest `at`, ties greatest id)."""
    release_id = release if isinstance(release, int) else release.pk
    latest_id = (
        Measure.objects.filter(release_id=release_id, key=OuterRef("key"), at__lte=as_of)
        .order_by("-at", "-id")
        .values("id")[:1]
    )
    qs = Measure.objects.filter(release_id=release_id, at__lte=as_of, id=Subquery(latest_id))
    if keys is not None:
        qs = qs.filter(key__in=list(keys))
    return {m.key: m for m in qs}


def measure_history(*, release: Release, key: str) -> QuerySet:
    return Measure.objects.filter(release=release, key=key).order_by("at", "id")


def latest_upload(*, release: Release, kind: str) -> MeasureUpload | None:
    return MeasureUpload.objects.filter(release=release, kind=kind).order_by("-uploaded_at", "-id").first()


def uploads_of(*, release: Release) -> QuerySet:
    return (
        MeasureUpload.objects.filter(release=release)
        .select_related("uploaded_by")
        .order_by("-uploaded_at", "-id")
    )


def baseline_release(*, release: Release) -> Release | None:
    """The project's previous release: the latest created before this one (ties: smaller id)."""
    return (
        Release.objects.filter(project_id=release.project_id, created_at__lte=release.created_at)
        .exclude(pk=release.pk)
        .exclude(created_at=release.created_at, pk__gt=release.pk)
        .order_by("-created_at", "-id")
        .first()
    )


def current_findings(*, release: Release | None) -> QuerySet:
    """Findings of the release's latest SARIF upload of each tool (a new ruff report replaces the old ruff one)."""
    if release is None:
        return Finding.objects.none()
    latest_of_tool = (
        MeasureUpload.objects.filter(release=release, kind=UploadKind.SARIF, tool=OuterRef("tool"))
        .order_by("-uploaded_at", "-id")
        .values("id")[:1]
    )
    uploads = MeasureUpload.objects.filter(release=release, kind=UploadKind.SARIF).filter(
        id=Subquery(latest_of_tool)
    )
    return Finding.objects.filter(release=release, upload__in=uploads.values("id"))


def finding_identities(*, release: Release) -> set[str]:
    return set(current_findings(release=release).values_list("identity", flat=True))


def findings_for(*, release: Release, level: str | None = None, new: bool | None = None) -> QuerySet:
    qs = current_findings(release=release)
    if level:
        qs = qs.filter(level=level)
    if new is not None:
        qs = qs.filter(is_new=new)
    return qs.order_by("-is_new", "level", "uri", "start_line", "id")
