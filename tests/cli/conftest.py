from tests.gates.conftest import cond, gate, metric_values  # noqa: F401 - shared fixtures
