"""The interface through which higher layers guard release moves (the releases layer owns it, gates register).

A release move (``releases.services.release_move``) asks every registered guard whether the move may happen.
The gates app registers one in its AppConfig.ready(): a move guarded by gates is refused unless each of them has
a go decision in force. Guards are plain objects with two methods, so this layer never imports the one above:

* ``refusal(*, release, from_status, to_status) -> Refusal | None`` runs inside the move's transaction with the
  release row locked, and answers why the move must not happen (or None);
* ``refused(*, release, from_status, to_status, by, refusal)`` runs after that transaction was rolled back, in a
  transaction of its own, so the guard can record the refusal (the audit log lives in the guard's layer).
"""

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Refusal:
    """Why a move was refused: a message a person can act on, and the details for the API and the audit log."""

    message: str
    code: str = "move_refused"
    details: dict[str, Any] = field(default_factory=dict)


class MoveGuard(Protocol):
    def refusal(self, *, release, from_status: str, to_status: str) -> Refusal | None: ...

    def refused(self, *, release, from_status: str, to_status: str, by, refusal: Refusal) -> None: ...


_GUARDS: list[MoveGuard] = []


def register_move_guard(guard: MoveGuard) -> None:
    """Add a guard (idempotent: registering the same object twice keeps one)."""
    if guard not in _GUARDS:
        _GUARDS.append(guard)


def move_guards() -> tuple[MoveGuard, ...]:
    return tuple(_GUARDS)
