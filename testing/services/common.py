"""What the testing writes share: status sets, limits, text checks and the metric recompute request."""

from __future__ import annotations

import re
from collections.abc import Iterable

from qualitygov import hooks
from qualitygov.errors import DomainError

from ..models import ResultStatus

REQUIREMENT_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.]*-?[A-Za-z0-9_.-]*$")
MANUAL_STATUSES = (ResultStatus.PASSED, ResultStatus.FAILED, ResultStatus.BLOCKED, ResultStatus.SKIPPED)
FAILING_STATUSES = (ResultStatus.FAILED, ResultStatus.ERROR, ResultStatus.BLOCKED)
MAX_RUN_CASES = 5000


def schedule_recompute(*, release_ids: Iterable[int]) -> None:
    hooks.evidence_changed(release_ids=list(release_ids))


def check_text(value: str, *, field: str, max_length: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError(f"The {field.replace('_', ' ')} is required.", field=field)
    if len(value) > max_length:
        raise DomainError(
            f"The {field.replace('_', ' ')} is longer than {max_length} characters.", field=field
        )
    return value
