"""Reads behind the calibration of the risk score and the economics of go/no-go (metrics.md, "Risk by change class,
and the economics of go/no-go"): the figures as of T for a project or a release, in a bounded number of queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from releases.models import Project, Release

from .calibration import calibration, outcome_rows
from .economics import economics
from .policy import policy_for, risk_band
from .services import compute_release_scope


def project_calibration(
    *, project: Project, as_of: dt.datetime | None = None, releases: bool = False
) -> dict:
    """The project's calibration table, overall rate and AUC as of T (default now); with `releases` also the
    outcome of every release behind it. Four queries (five with the releases)."""
    as_of = as_of or timezone.now()
    out = {"project": project.key, **calibration(project=project, as_of=as_of)}
    if releases:
        out["releases"] = outcome_rows(project=project, as_of=as_of)
    return out


def release_economics(
    *,
    release: Release,
    as_of: dt.datetime | None = None,
    score: float | None = None,
    cal: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The economics of going now or postponing the release as of T (default now): its risk score (given, or
    computed fresh as of T), its band, the project's calibration and costs in force at T, and what they give.

    `cal` lets a caller that shows many releases of one project compute the calibration once."""
    as_of = as_of or timezone.now()
    if score is None:
        score = compute_release_scope(release=release, keys=["release_risk_score"], as_of=as_of)[
            "release_risk_score"
        ].value
    cal = cal if cal is not None else calibration(project=release.project, as_of=as_of)
    policy = policy_for(release.project, as_of=as_of)
    out = economics(band=risk_band(score), score=score, calibration=cal, policy=policy)
    return {"release": release.pk, "version": release.version, "as_of": as_of.isoformat(), **out}
