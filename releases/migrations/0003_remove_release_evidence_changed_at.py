# The release's own evidence watermark goes: metrics.EvidenceWatermark is the one source of truth (issue 13).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("releases", "0002_release_lifecycle"),
    ]

    operations = [
        migrations.RemoveField(model_name="release", name="evidence_changed_at"),
    ]
