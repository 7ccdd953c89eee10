"""The value object every metric function returns."""

from dataclasses import dataclass, field
from typing import Any


@dataclass
class MetricResult:
    """One metric for one scope as of one instant. value None means "no data", never 0; n is the sample size."""

    key: str
    value: float | None
    n: int
    unit: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value, "n": self.n, "unit": self.unit, "details": self.details}
