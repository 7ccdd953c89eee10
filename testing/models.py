"""Requirements, test cases, test runs (CI or manual) and their results."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from qualitygov.enums import Environment, text_choices
from qualitygov.modelfields import CreatedAt, Timestamped, acting_user, choices_valid, optional_fk

Criticality = text_choices("Criticality", "critical", "high", "medium", "low")


# The criticalities `verified_critical_requirements` looks at (metrics.md, "Risk by change class").
CRITICAL_LEVELS = (Criticality.HIGH, Criticality.CRITICAL)


class Requirement(Timestamped):
    project = models.ForeignKey("releases.Project", on_delete=models.CASCADE, related_name="requirements")
    key = models.CharField(max_length=40, help_text="Stable key such as REQ-12, unique in the project.")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    criticality = models.CharField(max_length=10, choices=Criticality.choices, default=Criticality.MEDIUM)
    component = models.CharField(max_length=100, blank=True, default="")
    releases = models.ManyToManyField("releases.Release", blank=True, related_name="requirements")

    class Meta:
        ordering = ["project", "key"]
        constraints = [
            models.UniqueConstraint(fields=["project", "key"], name="requirement_key_unique_in_project"),
            *choices_valid("requirement", criticality=Criticality),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.title}"


class PairChange(models.Model):
    """One change of a link between two rows (append-only): the pair was linked (added) or unlinked at `at`."""

    added = models.BooleanField()
    at = models.DateTimeField(default=timezone.now)
    by = acting_user()

    class Meta:
        abstract = True
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{'+' if self.added else '-'} {type(self).__name__} {self.pk} at {self.at}"


class RequirementScopeChange(PairChange):
    """History of release scope: the requirement entered (added) or left the release's scope. The scope as of T
    is, per (requirement, release), the latest change at or before T (testing.asof)."""

    requirement = models.ForeignKey(Requirement, on_delete=models.CASCADE, related_name="+")
    release = models.ForeignKey("releases.Release", on_delete=models.CASCADE, related_name="+")

    class Meta(PairChange.Meta):
        indexes = [models.Index(fields=["release", "requirement", "at"], name="scope_change_replay_idx")]


TestCaseKind = text_choices("TestCaseKind", "automated", "manual")


class TestCase(Timestamped):
    project = models.ForeignKey("releases.Project", on_delete=models.CASCADE, related_name="test_cases")
    # Stable identity of an automated test: normalised "file-or-suite::classname::name" (testing/junit.py).
    # Empty for manual cases.
    identity = models.CharField(max_length=1000, blank=True, default="")
    suite = models.CharField(max_length=500, blank=True, default="")
    # Where a JUnit report put the test: its classname and the file (or, without one, the suite name).
    classname = models.CharField(max_length=500, blank=True, default="")
    location = models.CharField(max_length=500, blank=True, default="")
    name = models.CharField(max_length=500, blank=True, default="")
    title = models.CharField(max_length=500)
    kind = models.CharField(max_length=10, choices=TestCaseKind.choices, default=TestCaseKind.MANUAL)
    component = models.CharField(max_length=100, blank=True, default="")
    preconditions = models.TextField(blank=True, default="")
    # Steps of a manual case: a list of {"action": ..., "expected": ...}.
    steps = models.JSONField(default=list, blank=True)
    requirements = models.ManyToManyField(Requirement, blank=True, related_name="test_cases")

    class Meta:
        ordering = ["project", "suite", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "identity"], condition=~Q(identity=""), name="testcase_identity_unique"
            ),
            *choices_valid("testcase", kind=TestCaseKind),
        ]

    def __str__(self) -> str:
        return self.title


class TestCaseLinkChange(PairChange):
    """History of test case <-> requirement links: linked (added) or unlinked. The links as of T are, per
    (test case, requirement), the latest change at or before T that added the link (testing.asof)."""

    test_case = models.ForeignKey(TestCase, on_delete=models.CASCADE, related_name="+")
    requirement = models.ForeignKey(Requirement, on_delete=models.CASCADE, related_name="+")

    class Meta(PairChange.Meta):
        indexes = [models.Index(fields=["requirement", "test_case", "at"], name="link_change_replay_idx")]


RunSource = text_choices("RunSource", "ci", "manual", ci="CI")
RunStatus = text_choices("RunStatus", "in_progress", "completed")


class TestRun(CreatedAt):
    release = models.ForeignKey("releases.Release", on_delete=models.CASCADE, related_name="test_runs")
    name = models.CharField(max_length=200, blank=True, default="")
    revision = models.CharField(max_length=100, blank=True, default="", help_text="Commit or build revision.")
    environment = models.CharField(max_length=12, choices=Environment.choices, default=Environment.TEST)
    source = models.CharField(max_length=8, choices=RunSource.choices, default=RunSource.CI)
    status = models.CharField(max_length=12, choices=RunStatus.choices, default=RunStatus.COMPLETED)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = acting_user()
    # The test cases a manual run was planned with (its checklist); CI runs leave it empty.
    planned_cases = models.ManyToManyField(TestCase, blank=True, related_name="planned_runs")
    # SHA-256 of an uploaded report: the same report for the same release and revision is ingested once.
    content_hash = models.CharField(max_length=64, blank=True, default="")
    # Counts stored at ingestion/completion so run lists need no aggregation.
    tests = models.PositiveIntegerField(default=0)
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    blocked = models.PositiveIntegerField(default=0)
    flaky = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "revision", "content_hash"],
                condition=~Q(content_hash=""),
                name="testrun_report_ingested_once",
            ),
            *choices_valid("testrun", source=RunSource),
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True) | Q(finished_at__gte=models.F("started_at")),
                name="testrun_finishes_after_start",
            ),
        ]
        indexes = [models.Index(fields=["release", "started_at"])]

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.release} ({self.source})"

    @property
    def pass_rate(self) -> float | None:
        executed = self.passed + self.failed + self.errors + self.blocked
        return round(100 * self.passed / executed, 2) if executed else None


ResultStatus = text_choices("ResultStatus", "passed", "failed", "error", "skipped", "blocked")


class TestResult(models.Model):
    # Every result row is written by bulk ingestion, so each index costs at COPY time: run_id is covered by
    # the (run, test_case) unique index and release_id by result_latest_idx, so neither gets its own index.
    run = models.ForeignKey(TestRun, on_delete=models.CASCADE, related_name="results", db_index=False)
    # Denormalised from the run: "latest result of a test case in a release" is the hottest query.
    # No database-level constraint: release_id is always copied from the run (whose own constraint holds), and
    # a deferred FK check per row at commit cost a third of a 100k-result ingestion. Deleting a release still
    # cascades here through the ORM, and through the run's constraint in the database.
    release = models.ForeignKey(
        "releases.Release",
        on_delete=models.CASCADE,
        related_name="test_results",
        db_index=False,
        db_constraint=False,
    )
    test_case = models.ForeignKey(TestCase, on_delete=models.CASCADE, related_name="results")
    status = models.CharField(max_length=8, choices=ResultStatus.choices)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds; null when unknown or invalid.")
    message = models.TextField(blank=True, default="")
    details = models.TextField(
        blank=True, default="", help_text="Bounded excerpt of stack trace / system-out."
    )
    flaky = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=1)
    finished_at = models.DateTimeField(default=timezone.now)
    comment = models.TextField(blank=True, default="")
    # Indexed only where set (manual results), so CI rows cost nothing here.
    executed_by = acting_user(db_index=False)
    # Per-step outcomes of a manual execution: [{"status": ..., "comment": ...}, ...].
    step_results = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["run", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "test_case"], name="result_one_per_case_per_run"),
            *choices_valid("result", status=ResultStatus),
            models.CheckConstraint(
                condition=Q(duration__isnull=True) | Q(duration__gte=0), name="result_duration_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["release", "test_case", "-finished_at", "-id"], name="result_latest_idx"),
            models.Index(fields=["run", "status"]),
            models.Index(
                fields=["executed_by"], condition=Q(executed_by__isnull=False), name="result_executed_by_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.test_case} {self.status}"


class RegressionPolicy(models.TextChoices):
    REOPEN = "reopen", "Reopen the defect"
    FLAG = "flag", "Only flag it as regressed"


class ProjectTestSettings(models.Model):
    """Per-project settings of test evidence. A project without a row has the defaults."""

    project = models.OneToOneField("releases.Project", on_delete=models.CASCADE, related_name="test_settings")
    # What a failure of a test linked to a resolved defect does to the defect.
    on_regression = models.CharField(
        max_length=10, choices=RegressionPolicy.choices, default=RegressionPolicy.REOPEN
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(on_regression__in=RegressionPolicy.values), name="test_settings_regression_valid"
            )
        ]

    def __str__(self) -> str:
        return f"Test settings of project {self.project_id}"


class TestRegression(models.Model):
    """A test linked to a resolved defect failed again: the run, the failing result, and what was done."""

    defect = models.ForeignKey("defects.Defect", on_delete=models.CASCADE, related_name="regressions")
    run = models.ForeignKey(TestRun, on_delete=models.CASCADE, related_name="regressions")
    result = models.ForeignKey(TestResult, on_delete=models.CASCADE, related_name="regressions")
    test_case = models.ForeignKey(TestCase, on_delete=models.CASCADE, related_name="regressions")
    action = models.CharField(max_length=10, choices=RegressionPolicy.choices)
    # The defect's state when the failure came in (resolved, verified or closed).
    defect_status = models.CharField(max_length=12)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["defect", "run"], name="regression_once_per_defect_and_run"),
            *choices_valid("regression", action=RegressionPolicy),
        ]

    def __str__(self) -> str:
        return f"{self.defect_id} regressed in run {self.run_id}"


IngestionState = text_choices("IngestionState", "queued", "running", "done", "failed")


class JUnitIngestion(Timestamped):
    """A JUnit report too large to ingest inside the request: spooled to a file and ingested by a worker."""

    release = models.ForeignKey("releases.Release", on_delete=models.CASCADE, related_name="junit_ingestions")
    created_by = acting_user()
    state = models.CharField(max_length=8, choices=IngestionState.choices, default=IngestionState.QUEUED)
    path = models.CharField(
        max_length=500, help_text="The spooled, decompressed report, until it is ingested."
    )
    size = models.BigIntegerField(default=0)
    content_hash = models.CharField(max_length=64)
    revision = models.CharField(max_length=100, blank=True, default="")
    environment = models.CharField(max_length=12, blank=True, default="")
    run_name = models.CharField(max_length=200, blank=True, default="")
    run = optional_fk(TestRun, related_name="+")
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = choices_valid("ingestion", state=IngestionState)

    def __str__(self) -> str:
        return f"JUnit ingestion {self.pk} ({self.state})"
