"""Build a big seeded world once per test process, then copy its rows back for each later test that asks for it.

`seed_ids()` (tests/hardening/web_routes.py) seeds the whole demo portfolio, tens of seconds on a loaded 2-core
machine, and a dozen tests across the suite need it. On PostgreSQL, `cached_world(name, build)` runs `build()` in
the first test of a process that asks for `name`, inside that test's transaction like before, and keeps the rows it
added (COPY ... TO STDOUT, binary) in memory; in every later test it COPYs those rows back into the empty tables, in
that test's own transaction, and returns the same ids. Each test still starts from the same world and rolls back
what it did, so tests stay isolated; they only skip rebuilding it.

The world is kept only when nothing but new rows came of `build()`: every table it wrote to was empty before, and
every table that already held rows (content types, permissions, migrations) is byte for byte unchanged; otherwise
`build()` simply runs every time. A test that already has rows in one of the world's tables gets `build()` too, and
so does every test elsewhere (SQLite).
"""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection, transaction

from demo.services import refresh_planner_statistics


@dataclass
class _Copy:
    rows: dict[str, bytes]  # table -> COPY binary data, for the tables build() filled
    ids: object


_worlds: dict[str, _Copy | None] = {}  # None: build() changed more than empty tables, so it is not kept


def _tables() -> list[str]:
    return sorted(connection.introspection.table_names())


def _dump(cursor, table: str) -> bytes:
    buf = io.BytesIO()
    cursor.copy_expert(f"COPY {connection.ops.quote_name(table)} TO STDOUT (FORMAT binary)", buf)
    return buf.getvalue()


# Table and sequence names in the SQL below come from the database's own catalogue, quoted: no user input.


def _filled(cursor, table: str) -> bool:
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {connection.ops.quote_name(table)})")  # noqa: S608
    return cursor.fetchone()[0]


def _state(cursor, tables: list[str]) -> dict[str, str | None]:
    """None for an empty table, else a digest of its rows (small: only migrations' rows exist before a build)."""
    state = {}
    for table in tables:
        state[table] = None
        if _filled(cursor, table):
            qn = connection.ops.quote_name(table)
            cursor.execute(f"SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {qn} t")  # noqa: S608
            state[table] = cursor.fetchone()[0]
    return state


def _keep(build) -> tuple[_Copy | None, object]:
    tables = _tables()
    with connection.cursor() as cursor:
        before = _state(cursor, tables)
    ids = build()
    with connection.cursor() as cursor:
        after = _state(cursor, tables)
        if any(before[t] is not None and after[t] != before[t] for t in tables):
            return None, ids
        rows = {t: _dump(cursor, t) for t in tables if before[t] is None and after[t] is not None}
    return _Copy(rows=rows, ids=copy.deepcopy(ids)), ids


def _restore(world: _Copy) -> bool:
    """Copy the world's rows back; False (nothing done) if one of its tables already holds rows."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        if any(_filled(cursor, table) for table in world.rows):
            return False
    with transaction.atomic(), connection.cursor() as cursor:
        for table, data in world.rows.items():
            cursor.copy_expert(f"COPY {qn(table)} FROM STDIN (FORMAT binary)", io.BytesIO(data))
            # The ids came with the rows: the table's id sequence must hand out larger ones from here on.
            sequence = _id_sequence(cursor, table)
            if sequence:
                cursor.execute(
                    f"SELECT setval(%s, GREATEST((SELECT max(id) FROM {qn(table)}), "  # noqa: S608
                    f"(SELECT last_value FROM {sequence})))",
                    [sequence],
                )
    refresh_planner_statistics()  # as seed_demo does after its bulk load
    # Cached charts are keyed by snapshot times, which repeat in a copied world: drop them, so that every test
    # builds its pages as it would on a freshly seeded world.
    cache.clear()
    return True


def _id_sequence(cursor, table: str) -> str | None:
    """The sequence behind the table's `id` column, if it has one."""
    cursor.execute(
        "SELECT pg_get_serial_sequence(quote_ident(table_name), column_name) FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s AND column_name = 'id'",
        [table],
    )
    row = cursor.fetchone()
    return row[0] if row else None


def cached_world(name: str, build):
    """The ids `build()` returns, with the rows it adds present in the database (see the module docstring)."""
    if connection.vendor != "postgresql":
        return build()
    if name not in _worlds:
        _worlds[name], ids = _keep(build)
        return ids
    world = _worlds[name]
    if world is None or not _restore(world):
        return build()
    return copy.deepcopy(world.ids)
