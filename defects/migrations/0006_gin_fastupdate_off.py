"""Duplicate finder, PostgreSQL only: the finder's GIN indexes are written through (fastupdate off).

With fastupdate on (PostgreSQL's default), new entries wait in a pending list that every search reads in full
until VACUUM merges it: after a bulk import the finder's candidate query read hundreds of pending pages per
call (about 100 ms at 2,500 defects, measured in bench/duplicates_recall.py). Written through, each insert
costs a little more and every search reads the index only. The pending lists are merged here once.
Skipped on SQLite.
"""

from django.db import migrations

INDEXES = ("defect_search_vector", "defect_title_tsvector", "defect_title_trgm")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in INDEXES:
        schema_editor.execute(f"ALTER INDEX {index} SET (fastupdate = off)")
        schema_editor.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in INDEXES:
        schema_editor.execute(f"ALTER INDEX {index} RESET (fastupdate)")


class Migration(migrations.Migration):
    dependencies = [("defects", "0005_search_vector_simple")]

    operations = [migrations.RunPython(forward, backward)]
