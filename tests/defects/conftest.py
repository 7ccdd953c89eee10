"""Fixtures for the defect tests: a recorder for metric recomputes, defects made by the service (members per role:
tests/conftest.py)."""

import pytest

from defects import services


@pytest.fixture
def recomputes(monkeypatch):
    """Every call that reaches metrics.services.schedule_recompute, as (release_ids, project_ids) tuples."""
    calls: list[tuple[tuple[int, ...], tuple[int, ...]]] = []

    def record(*, release_ids=(), project_ids=()):
        calls.append((tuple(sorted(release_ids)), tuple(sorted(project_ids))))

    import metrics.services

    monkeypatch.setattr(metrics.services, "schedule_recompute", record)
    return calls


@pytest.fixture
def make_defect(project, qa):
    """make_defect(title=..., **kwargs) -> a defect created through the service."""

    def _make(title: str = "Login button does nothing", **kwargs):
        kwargs.setdefault("by", qa)
        kwargs.setdefault("project", project)
        return services.defect_create(title=title, **kwargs)

    return _make
