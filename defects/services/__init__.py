"""Writes to defects, one module per job: create, move, edit, comment, mark duplicate, bulk actions.

Every function here records its own history (creation transition, move, field audit rows) and
schedules the metric recompute for the defect's releases and project, so no caller can forget either.
Moves and edits take a row lock on the defect (`select_for_update`) and bump `Defect.version`;
a caller that sends `expected_version` gets a ConflictError (HTTP 409) when someone else got there first.

* ``lifecycle``: create a defect, move it, mark it a duplicate;
* ``edits``: change fields (audit rows), comment, delete;
* ``bulk``: one action over many defects with a per-row report;
* ``common``: field checks, the row lock and the coalesced recompute request they share.
"""

from .bulk import (
    BulkAction,
    BulkReport,
    defect_bulk_action,
    defect_bulk_apply,
)
from .common import (
    MAX_BULK_ROWS,
    TITLE_MAX,
    may_be_assigned,
    not_a_member_message,
)
from .edits import (
    EDITABLE_FIELDS,
    defect_comment_add,
    defect_delete,
    defect_update,
)
from .lifecycle import (
    defect_create,
    defect_mark_duplicate,
    defect_transition,
)

__all__ = [
    "BulkAction",
    "BulkReport",
    "EDITABLE_FIELDS",
    "MAX_BULK_ROWS",
    "TITLE_MAX",
    "defect_bulk_action",
    "defect_bulk_apply",
    "defect_comment_add",
    "defect_create",
    "defect_delete",
    "defect_mark_duplicate",
    "defect_transition",
    "defect_update",
    "may_be_assigned",
    "not_a_member_message",
]
