"""Fixtures for gate tests: a small gate, and metric values chosen by the test."""

import pytest

from gates.models import ChecklistItem, GateCondition, QualityGate
from metrics.results import MetricResult
from releases.models import Role


@pytest.fixture
def metric_values(monkeypatch):
    """metric_values({"test_pass_rate": 97.0, ...}) makes compute_for_release return those values.

    Keys not given have no data (None). Returns the dict, which the test may change between evaluations.
    """
    values: dict = {}

    def fake_compute(*, release, keys=None, as_of=None):
        wanted = list(keys) if keys is not None else list(values)
        return {
            k: MetricResult(k, values.get(k), 10 if values.get(k) is not None else 0, "", {}) for k in wanted
        }

    monkeypatch.setattr("metrics.services.compute_for_release", fake_compute)

    def _set(new: dict | None = None):
        values.clear()
        values.update(new or {})
        return values

    return _set


@pytest.fixture
def gate(project):
    """A gate with a key condition, a warn-able condition, an ignore-on-missing condition and one checklist item."""
    g = QualityGate.objects.create(project=project, name="RC gate", order=1)
    GateCondition.objects.create(
        gate=g, metric="blocking_open_defects", operator="lte", error_threshold=0, key=True, order=0
    )
    GateCondition.objects.create(
        gate=g, metric="test_pass_rate", operator="gte", error_threshold=95, warn_threshold=98, order=1
    )
    GateCondition.objects.create(
        gate=g,
        metric="reopen_rate",
        operator="lte",
        error_threshold=10,
        warn_threshold=5,
        missing_data="ignore",
        order=2,
    )
    ChecklistItem.objects.create(gate=g, text="Rollback plan reviewed", role=Role.RELEASE_MANAGER, order=0)
    return g


@pytest.fixture
def cond(gate):
    """cond(metric) -> the gate's condition for that metric."""
    return lambda metric: gate.conditions.get(metric=metric)
