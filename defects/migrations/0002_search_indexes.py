"""Text-search support for the duplicate finder, on PostgreSQL only (SQLite uses the Python fallback).

- the pg_trgm extension and a GIN trigram index on the title (similarity, the `%` operator);
- a stored, generated `search_vector` column (title weight A, first 1,500 characters of the description
  weight B, English configuration) with a GIN index, for full-text candidate retrieval.

The column is not a model field: Django never writes it, PostgreSQL keeps it in step with every write.
"""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS defect_title_trgm ON defects_defect USING gin (title gin_trgm_ops)",
    """ALTER TABLE defects_defect ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS (
         setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') ||
         setweight(to_tsvector('english'::regconfig, left(coalesce(description, ''), 1500)), 'B')
       ) STORED""",
    "CREATE INDEX IF NOT EXISTS defect_search_vector ON defects_defect USING gin (search_vector)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS defect_search_vector",
    "ALTER TABLE defects_defect DROP COLUMN IF EXISTS search_vector",
    "DROP INDEX IF EXISTS defect_title_trgm",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in FORWARD:
        schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in BACKWARD:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("defects", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
