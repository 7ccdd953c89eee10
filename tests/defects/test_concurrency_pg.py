"""Two people moving the same defect at once, for real: two threads, two connections, PostgreSQL row locks."""

import threading

import pytest
from django.db import close_old_connections, connection

from defects import services
from defects.models import Defect
from qualitygov.errors import DomainError

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("real row locks need PostgreSQL")


def _race(defect_id: int, user, moves: list[dict]) -> list[str]:
    """Run each move in its own thread, released together; return 'ok' or the error message of each."""
    barrier = threading.Barrier(len(moves))
    outcomes: list[str] = [""] * len(moves)

    def worker(i: int, kwargs: dict) -> None:
        try:
            defect = Defect.objects.get(pk=defect_id)
            barrier.wait(timeout=10)
            services.defect_transition(defect=defect, by=user, **kwargs)
            outcomes[i] = "ok"
        except DomainError as exc:
            outcomes[i] = exc.message
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, m)) for i, m in enumerate(moves)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def test_two_concurrent_moves_with_the_same_version_one_wins(postgres_only, make_defect, qa):
    # given a new defect both people loaded at version 1
    defect = make_defect()
    # when both move it at the same moment
    outcomes = _race(
        defect.pk,
        qa,
        [
            {"to": "triaged", "expected_version": 1},
            {"to": "resolved", "resolution": "fixed", "expected_version": 1},
        ],
    )
    # then exactly one wins; the other gets the conflict, and history has exactly one move after creation
    assert sorted(o == "ok" for o in outcomes) == [False, True]
    loser = next(o for o in outcomes if o != "ok")
    assert "changed by someone else" in loser
    defect.refresh_from_db()
    moves = list(defect.transitions.order_by("at", "id").values_list("from_status", "to_status"))
    assert len(moves) == 2
    assert moves[1] == ("new", defect.status)
    assert defect.version == 2


def test_concurrent_moves_without_version_serialize_through_the_row_lock(postgres_only, make_defect, qa):
    # given a new defect and two people who both want to close it, neither sending a version
    defect = make_defect()
    outcomes = _race(defect.pk, qa, [{"to": "closed", "resolution": "wont_fix"}] * 2)
    # then the second, seeing the fresh state under the lock, is refused as an illegal move (closed -> closed)
    assert sorted(o == "ok" for o in outcomes) == [False, True]
    assert "Allowed next states: Reopened" in next(o for o in outcomes if o != "ok")
    defect.refresh_from_db()
    assert list(defect.transitions.values_list("to_status", flat=True)) == ["new", "closed"]
