"""Test identity becomes (file or suite, classname, name): new columns, and every stored identity rewritten.

Old identities were ``scope::name`` with scope the normalised classname, or the suite name without one. The
rewrite keeps each test case row (so its results, links and history stay where they are) and gives it the
identity a report would now compute from the same suite, classname and name: ``suite::classname::name``.
The file is unknown for old rows (their ``location`` stays empty); the first upload that names a file for
such a test adopts the old row instead of creating a new one (testing/ingest_cases.py).
"""

import hashlib

from django.db import migrations, models

IDENTITY_CHARS = 1000


def _scope(value: str) -> str:
    return " ".join((value or "").split()).replace("/", ".").replace("\\", ".").strip(".")


def _identity(where: str, classname: str, name: str) -> str:
    identity = f"{where}::{classname}::{name.strip()}"
    if len(identity) > IDENTITY_CHARS:
        tail = hashlib.sha256(identity.encode()).hexdigest()[:16]
        identity = f"{identity[: IDENTITY_CHARS - 17]}~{tail}"
    return identity


def rewrite_identities(apps, schema_editor):
    TestCase = apps.get_model("testing", "TestCase")
    batch = []
    for case in (
        TestCase.objects.exclude(identity="").only("id", "identity", "suite", "name", "title").iterator()
    ):
        scope, sep, name = case.identity.partition("::")
        if not sep or len(case.identity) >= IDENTITY_CHARS:
            scope, name = _scope(case.suite), case.name
        # The old scope was the classname unless the test had none (then its title is its bare name).
        had_class = case.title != case.name
        classname = scope if had_class else ""
        if had_class and case.title.endswith(f".{case.name}"):
            case.classname = case.title[: -len(case.name) - 1]
        else:
            case.classname = classname
        case.identity = _identity(_scope(case.suite), classname, name)
        batch.append(case)
        if len(batch) >= 2000:
            TestCase.objects.bulk_update(batch, ["identity", "classname"])
            batch = []
    if batch:
        TestCase.objects.bulk_update(batch, ["identity", "classname"])


def restore_identities(apps, schema_editor):
    TestCase = apps.get_model("testing", "TestCase")
    batch = []
    for case in TestCase.objects.exclude(identity="").only("id", "identity", "suite", "name").iterator():
        parts = case.identity.split("::", 2)
        if len(parts) == 3:
            where, classname, name = parts
            case.identity = f"{classname or where}::{name}"[:IDENTITY_CHARS]
            batch.append(case)
    TestCase.objects.bulk_update(batch, ["identity"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("testing", "0003_result_indexes_for_bulk_ingestion"),
    ]

    operations = [
        migrations.AddField(
            model_name="testcase",
            name="classname",
            field=models.CharField(blank=True, default="", max_length=500),
        ),
        migrations.AddField(
            model_name="testcase",
            name="location",
            field=models.CharField(blank=True, default="", max_length=500),
        ),
        migrations.RunPython(rewrite_identities, restore_identities),
    ]
