"""Duplicate finder, PostgreSQL only: the finder's GIN indexes keep a small pending list instead of none.

0006 turned fastupdate off, which made every search read the index only but made bulk loads slow: 20,000
Hadoop-like defects took 36 s to insert against 8 s with PostgreSQL's default (fastupdate on, a 4 MB pending
list), and the benchmark's 97,498-row COPY 469 s. A pending list capped at 256 kB keeps loads near the default
(10 s for the same 20,000 rows) while a search reads at most 32 pending pages, not the hundreds a 4 MB list
holds after a bulk load (which cost about 100 ms per finder call). Skipped on SQLite.
"""

from django.db import migrations

INDEXES = ("defect_search_vector", "defect_title_tsvector", "defect_title_trgm")
PENDING_LIST_KB = 256


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in INDEXES:
        schema_editor.execute(
            f"ALTER INDEX {index} SET (fastupdate = on, gin_pending_list_limit = {PENDING_LIST_KB})"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in INDEXES:
        schema_editor.execute(f"ALTER INDEX {index} SET (fastupdate = off)")
        schema_editor.execute(f"ALTER INDEX {index} RESET (gin_pending_list_limit)")


class Migration(migrations.Migration):
    dependencies = [("defects", "0006_gin_fastupdate_off")]

    operations = [migrations.RunPython(forward, backward)]
