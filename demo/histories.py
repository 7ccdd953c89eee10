"""Random but lawful histories: a defect's walk over the allowed moves, weighted choices, fake commit ids."""

import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field

from defects.models import OPEN_STATUSES, STATUSES_NEEDING_RESOLUTION, DefectStatus, Resolution
from defects.moves import Move

from .data import DWELL_HOURS, NEXT_WEIGHTS


@dataclass
class SeedReport:
    projects: int = 0
    users: int = 0
    releases: int = 0
    requirements: int = 0
    test_cases: int = 0
    runs: int = 0
    results: int = 0
    defects: int = 0
    transitions: int = 0
    incidents: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def _weighted(rng: random.Random, pairs: list[tuple[str, float]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs], k=1)[0]


def _sha(rng: random.Random) -> str:
    return hashlib.sha1(str(rng.random()).encode(), usedforsecurity=False).hexdigest()[:12]


def defect_walk(
    *, rng: random.Random, created_at: dt.datetime, now: dt.datetime, pace: float = 1.0
) -> list[Move]:
    """A status history from '' -> new, following the allowed moves, never past `now`.

    `pace` > 1 slows the team down (fewer defects finished, as in a release still in testing).
    """
    moves = [Move("", DefectStatus.NEW, "", created_at)]
    state, at, resolution = DefectStatus.NEW, created_at, ""
    for _ in range(30):
        options = NEXT_WEIGHTS[state]
        if state == DefectStatus.CLOSED and rng.random() > options[0][1]:
            break
        to = _weighted(rng, options) if state != DefectStatus.CLOSED else DefectStatus.REOPENED
        low, high = DWELL_HOURS[state]
        at = at + dt.timedelta(hours=rng.uniform(low, high) * pace, minutes=rng.randint(0, 59))
        if at > now:
            break
        if to == DefectStatus.RESOLVED:
            if state in (DefectStatus.NEW, DefectStatus.TRIAGED):
                resolution = rng.choice([Resolution.CANNOT_REPRODUCE, Resolution.FIXED])
            else:
                resolution = _weighted(
                    rng,
                    [
                        (Resolution.FIXED, 0.92),
                        (Resolution.WONT_FIX, 0.03),
                        (Resolution.CANNOT_REPRODUCE, 0.05),
                    ],
                )
        elif to == DefectStatus.CLOSED and state in (DefectStatus.NEW, DefectStatus.TRIAGED):
            resolution = _weighted(
                rng,
                [(Resolution.DUPLICATE, 0.45), (Resolution.NOT_A_DEFECT, 0.25), (Resolution.WONT_FIX, 0.30)],
            )
        elif to in OPEN_STATUSES:
            resolution = ""
        # verified and closed-after-verified keep the resolution reached at `resolved`
        moves.append(
            Move(
                state,
                to,
                resolution if to in STATUSES_NEEDING_RESOLUTION or to == DefectStatus.VERIFIED else "",
                at,
            )
        )
        state = to
    return moves
