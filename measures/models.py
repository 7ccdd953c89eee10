"""External evidence of a release: measures (coverage, findings counts, load-test figures, custom keys), the
uploads they came from, and the static-analysis findings of SARIF uploads."""

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from qualitygov.enums import text_choices
from qualitygov.modelfields import CreatedBy, acting_user, choices_valid, optional_fk


class Direction(models.TextChoices):
    HIGHER = "higher", "Higher is better"
    LOWER = "lower", "Lower is better"


class UploadKind(models.TextChoices):
    COVERAGE = "coverage", "Coverage"
    SARIF = "sarif", "Static analysis (SARIF)"
    LOADTEST = "loadtest", "Load test"
    MANUAL = "manual", "Measure API"


measure_key_validator = RegexValidator(
    r"^[a-z][a-z0-9_]{1,62}$",
    "A measure key is 2-63 lower-case letters, digits or underscores, starting with a letter.",
)


class BuiltinMeasure:
    """A measure key every project has: (label, unit, direction)."""

    def __init__(self, key: str, label: str, unit: str, direction: str, description: str):
        self.key, self.label, self.unit, self.direction, self.description = (
            key,
            label,
            unit,
            direction,
            description,
        )


BUILTIN_MEASURES: dict[str, BuiltinMeasure] = {
    m.key: m
    for m in (
        BuiltinMeasure(
            "line_coverage",
            "Line coverage",
            "%",
            Direction.HIGHER,
            "Covered lines over coverable lines, as the tool's total reports.",
        ),
        BuiltinMeasure(
            "branch_coverage",
            "Branch coverage",
            "%",
            Direction.HIGHER,
            "Covered branches over branches, as the tool's total reports.",
        ),
        BuiltinMeasure(
            "new_findings_high",
            "New high findings",
            "count",
            Direction.LOWER,
            "SARIF results of level error absent from the previous release of the project (by fingerprint, or rule and location).",
        ),
        BuiltinMeasure(
            "findings_high_total",
            "High findings",
            "count",
            Direction.LOWER,
            "SARIF results of level error in the release.",
        ),
        BuiltinMeasure(
            "p95_latency_ms",
            "p95 latency",
            "ms",
            Direction.LOWER,
            "95th percentile of request duration in the load test.",
        ),
        BuiltinMeasure(
            "error_rate",
            "Error rate",
            "%",
            Direction.LOWER,
            "Failed requests over requests in the load test.",
        ),
    )
}


class MeasureKey(CreatedBy):
    """A project's own measure key (a custom figure it wants to gate or chart), created by its admins."""

    project = models.ForeignKey("releases.Project", on_delete=models.CASCADE, related_name="measure_keys")
    key = models.CharField(max_length=63, validators=[measure_key_validator])
    label = models.CharField(max_length=100)
    unit = models.CharField(max_length=20, blank=True, default="")
    direction = models.CharField(max_length=6, choices=Direction.choices, default=Direction.HIGHER)
    description = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["project", "key"]
        constraints = [
            models.UniqueConstraint(fields=["project", "key"], name="measurekey_unique_in_project"),
            *choices_valid("measurekey", direction=Direction),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.key}"


class MeasureUpload(models.Model):
    """One accepted report (or measure API call). The same bytes as the release's latest upload of that kind are a
    repeat (answered `duplicate: true`, nothing stored); the same bytes after another upload are stored again,
    because they change which value is the latest."""

    release = models.ForeignKey("releases.Release", on_delete=models.CASCADE, related_name="measure_uploads")
    kind = models.CharField(max_length=10, choices=UploadKind.choices)
    format = models.CharField(max_length=20)
    tool = models.CharField(max_length=200, blank=True, default="")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    uploaded_by = acting_user()
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        indexes = [
            models.Index(fields=["release", "kind", "-uploaded_at", "-id"], name="measureupload_latest")
        ]
        constraints = choices_valid("measureupload", kind=UploadKind)

    def __str__(self) -> str:
        return f"{self.kind} {self.format} upload {self.sha256[:12]} for release {self.release_id}"


class Measure(models.Model):
    """One value of a measure key for a release at one time. As of T, the latest value at or before T counts."""

    release = models.ForeignKey("releases.Release", on_delete=models.CASCADE, related_name="measures")
    key = models.CharField(max_length=63)
    value = models.FloatField()
    unit = models.CharField(max_length=20, blank=True, default="")
    direction = models.CharField(max_length=6, choices=Direction.choices)
    source = models.CharField(max_length=100, blank=True, default="")
    at = models.DateTimeField(default=timezone.now)
    upload = optional_fk(MeasureUpload, related_name="measures", on_delete=models.CASCADE)

    class Meta:
        ordering = ["release", "key", "-at", "-id"]
        constraints = choices_valid("measure", direction=Direction)
        indexes = [models.Index(fields=["release", "key", "-at", "-id"], name="measure_latest")]

    def __str__(self) -> str:
        return f"{self.key}={self.value:g}{self.unit} for release {self.release_id}"


FindingLevel = text_choices("FindingLevel", "error", "warning", "note", "none", error="Error (high)")


class Finding(models.Model):
    """One SARIF result of an upload, with whether it is new against the project's previous release."""

    release = models.ForeignKey("releases.Release", on_delete=models.CASCADE, related_name="findings")
    upload = models.ForeignKey(MeasureUpload, on_delete=models.CASCADE, related_name="findings")
    tool = models.CharField(max_length=100)
    rule_id = models.CharField(max_length=200, blank=True, default="")
    level = models.CharField(max_length=7, choices=FindingLevel.choices)
    message = models.TextField(blank=True, default="")
    uri = models.CharField(max_length=500, blank=True, default="")
    start_line = models.PositiveIntegerField(null=True, blank=True)
    start_column = models.PositiveIntegerField(null=True, blank=True)
    identity = models.CharField(max_length=500)
    link = models.CharField(max_length=500, blank=True, default="")
    is_new = models.BooleanField(default=False)

    class Meta:
        ordering = ["release", "-is_new", "level", "uri", "start_line", "id"]
        constraints = choices_valid("finding", level=FindingLevel)
        indexes = [
            models.Index(fields=["upload", "level"]),
            models.Index(fields=["release", "level", "is_new"]),
        ]

    def __str__(self) -> str:
        return f"{self.level} {self.rule_id} at {self.uri}:{self.start_line or ''}"
