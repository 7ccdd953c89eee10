"""A defect's move as a value, for the code that builds a whole history before writing it in bulk (the Jira import,
the demo seed): the move's fields are named as DefectTransition's, so a move becomes its row in one call."""

import datetime as dt
from dataclasses import asdict, dataclass

from .models import Defect, DefectTransition


@dataclass
class Move:
    """One move of a defect's history: from_status ("" for the creation) -> to_status, with the resolution it
    sets, at an instant."""

    from_status: str
    to_status: str
    resolution: str
    at: dt.datetime

    def transition(self, *, defect: Defect, by, comment: str = "") -> DefectTransition:
        """The (unsaved) DefectTransition row of this move of `defect`."""
        return DefectTransition(defect=defect, by=by, comment=comment, **asdict(self))
