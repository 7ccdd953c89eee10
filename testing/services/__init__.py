"""Writes for requirements, test cases, manual runs and their results, one module per job.

* ``catalogue``: requirements and test cases (create, change, delete, link);
* ``runs``: manual runs and their results, and filing a defect from a failed result;
* ``settings``: the project's test-evidence settings (the regression policy);
* ``common``: status sets, limits, text checks and the metric recompute request they share.

JUnit ingestion lives in ``testing.ingest``.
"""

from .catalogue import (
    requirement_create,
    requirement_delete,
    requirement_update,
    testcase_create,
    testcase_delete,
    testcase_update,
    testcases_link_requirements,
)
from .common import FAILING_STATUSES, MANUAL_STATUSES, MAX_RUN_CASES
from .runs import (
    defect_description_for,
    defect_file_from_result,
    defect_title_for,
    manual_result_record,
    manual_run_complete,
    manual_run_create,
)
from .settings import test_settings_update

__all__ = [
    "FAILING_STATUSES",
    "MANUAL_STATUSES",
    "MAX_RUN_CASES",
    "defect_description_for",
    "defect_file_from_result",
    "defect_title_for",
    "manual_result_record",
    "manual_run_complete",
    "manual_run_create",
    "requirement_create",
    "requirement_delete",
    "requirement_update",
    "testcase_create",
    "testcase_delete",
    "testcase_update",
    "testcases_link_requirements",
    "test_settings_update",
]
