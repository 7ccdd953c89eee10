"""Duplicate finder, PostgreSQL only: the full-text column indexes words as written (the 'simple' configuration).

The finder estimates how many defects each query word can match from a sample of the project's words and keeps
the full-text query under a row budget (defects/duplicates.py). With the English configuration the column held
stems ('seeing' -> 'see', 'windows' -> 'window'), so a rare word could match thousands of rows and one query
rank a third of a 100,000-defect project. Words as written make the estimate hold. The description part is
the first 1,000 characters, the same text the sample reads. A GIN expression index on the title's own tsvector
serves the title search. pg_trgm and the title's trigram index stay as 0002 made them. Skipped on SQLite.
"""

from django.db import migrations


# The titles alone, for the finder's title search (words in titles are rarer than in descriptions, so a title
# word can be searched by in a large project where the same word in every description would cost too much).
TITLE_INDEX = (
    "CREATE INDEX IF NOT EXISTS defect_title_tsvector ON defects_defect "
    "USING gin (to_tsvector('simple'::regconfig, title))"
)


def _column(config: str, chars: int) -> list[str]:
    return [
        "DROP INDEX IF EXISTS defect_search_vector",
        "ALTER TABLE defects_defect DROP COLUMN IF EXISTS search_vector",
        f"""ALTER TABLE defects_defect ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
             setweight(to_tsvector('{config}'::regconfig, coalesce(title, '')), 'A') ||
             setweight(to_tsvector('{config}'::regconfig, left(coalesce(description, ''), {chars})), 'B')
           ) STORED""",
        "CREATE INDEX defect_search_vector ON defects_defect USING gin (search_vector)",
    ]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for statement in _column("simple", 1000):
        schema_editor.execute(statement)
    schema_editor.execute(TITLE_INDEX)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS defect_title_tsvector")
    for statement in _column("english", 1500):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("defects", "0004_fix_version_label")]

    operations = [migrations.RunPython(forward, backward)]
