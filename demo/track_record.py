"""The demo's track record: older released releases whose outcomes the risk calibration learns from.

SYNTHETIC DATA. Each demo project gets TRACK_RELEASES small releases that went live 200 to 530 days before `now`,
two weeks apart, each with real evidence (requirements in scope, one CI run, blocker defects open at release) of one
of four qualities, and an outcome drawn so that riskier releases went bad more often: an incident attributed to the
release, or a valid defect found in production, within 30 days. The risk score at release date is then computed
from that evidence (metrics.services.backfill_release_scores), never written by hand, so the calibration table, the
AUC and the economics of go/no-go show real figures on first start.

A mixin of DemoBuilder. It draws from its own random generator, after every project is built, so the rest of the
demo data (and the ids of its rows) is the same with or without it. Failing results are `error`s.
"""

import datetime as dt
import random

from defects.models import Defect, DefectStatus, DefectTransition, Environment, Resolution
from incidents.models import Incident
from metrics.models import PolicyVersion
from metrics.policy import policy_validate
from metrics.registry import definitions_for
from metrics.services import backfill_release_scores
from releases.models import ChangeClass, Project, Release, ReleaseStatus
from testing.models import Requirement, TestCase, TestResult, TestRun
from testing.services.tracing import scope_change

from .data import BATCH, INCIDENT_TITLES, SYMPTOMS
from .histories import _sha

TRACK_RELEASES = 24
FIRST_DAYS_AGO = 200
SPACING_DAYS = 14
SCOPE = 12  # requirements in scope of each track-record release
# quality -> (releases of that quality, errors among the results, blocker defects open at release, bad outcomes)
QUALITIES: dict[str, tuple[int, int, int, int]] = {
    "clean": (11, 0, 0, 1),
    "shaky": (6, 1, 0, 2),
    "poor": (5, 3, 1, 3),
    "bad": (2, 5, 3, 2),
}


# The demo projects' costs of go/no-go (synthetic, in EUR): delay per day, a hotfix, an incident.
DEMO_COSTS: dict[str, dict] = {
    "PAY": {"delay_cost_per_day": 4000, "hotfix_cost": 15000, "incident_cost": 40000, "currency": "EUR"},
    "WEB": {"delay_cost_per_day": 2500, "hotfix_cost": 8000, "incident_cost": 20000, "currency": "EUR"},
    "OPS": {"delay_cost_per_day": 1500, "hotfix_cost": 6000, "incident_cost": 30000, "currency": "EUR"},
}


class DemoTrackRecord:
    def _history_start(self) -> dt.datetime:
        """When the demo's history begins, before the first track-record release: the projects' policies,
        requirements, test cases and their links date from then."""
        return self.now - dt.timedelta(days=FIRST_DAYS_AGO + SPACING_DAYS * TRACK_RELEASES + 30)

    def _demo_costs(self, project: Project, *, admin) -> None:
        """Version 1 of the project's policy: the defaults plus the demo's costs, saved by the demo admin."""
        costs = DEMO_COSTS.get(project.key)
        if not costs:
            return
        PolicyVersion.objects.create(
            project=project,
            version=1,
            policy=policy_validate({"economics": costs}, definitions=definitions_for(project)),
            comment="Demo costs of go/no-go (synthetic figures)",
            created_by=admin,
            created_at=self._history_start(),
        )

    def _track_record(self, project: Project, spec: dict, *, team, reporter, owner) -> None:
        """Build the project's track record (see the module docstring) and store every release-date score."""
        rng = random.Random(f"track-record-{self.seed}-{project.key}")
        cases_by_req: dict[int, list[TestCase]] = {}
        for case in TestCase.objects.filter(project=project).prefetch_related("requirements"):
            for req in case.requirements.all():
                cases_by_req.setdefault(req.pk, []).append(case)
        # Requirements whose every linked case is automated: one CI run can verify them.
        candidates = [
            req
            for req in Requirement.objects.filter(project=project).order_by("key")
            if cases_by_req.get(req.pk) and all(c.kind == "automated" for c in cases_by_req[req.pk])
        ]
        plan = [quality for quality, (count, *_rest) in QUALITIES.items() for _ in range(count)]
        rng.shuffle(plan)
        bad_left = {quality: spec_[3] for quality, spec_ in QUALITIES.items()}
        left = {quality: spec_[0] for quality, spec_ in QUALITIES.items()}
        number = (
            Defect.objects.filter(project=project)
            .order_by("-number")
            .values_list("number", flat=True)
            .first()
            or 0
        )
        releases, runs, results, defects, moves, incidents, scope = [], [], [], [], [], [], []
        for i, quality in enumerate(plan):
            _count, errors, blockers, _bad = QUALITIES[quality]
            deployed = self.now - dt.timedelta(
                days=FIRST_DAYS_AGO + SPACING_DAYS * i, hours=rng.randint(8, 18)
            )
            release = Release(
                project=project,
                version=f"{spec['major'] - 1}.{TRACK_RELEASES - i}.0",
                name="Track record (synthetic)",
                status=ReleaseStatus.RELEASED,
                change_class=rng.choice([ChangeClass.MINOR, ChangeClass.MINOR, ChangeClass.PATCH]),
                planned_release_date=deployed.date(),
                actual_release_date=deployed,
                description="Synthetic history for the risk calibration of the demo (demo/track_record.py).",
            )
            # The outcome: exactly the quality's share of bad releases, in a random order.
            went_bad = rng.random() < bad_left[quality] / left[quality]
            bad_left[quality] -= went_bad
            left[quality] -= 1
            release.plan = (quality, errors, blockers, went_bad)
            releases.append(release)
        created = Release.objects.bulk_create(releases)
        for release in created:
            quality, errors, blockers, went_bad = release.plan
            deployed = release.actual_release_date
            release.created_at = deployed - dt.timedelta(days=21)
            in_scope = rng.sample(candidates, k=min(SCOPE, len(candidates)))
            scope.append((release, [(r.pk, release.pk) for r in in_scope]))
            finished = deployed - dt.timedelta(days=2)
            run = TestRun(
                release=release,
                name="ci #900",
                revision=_sha(rng),
                environment=Environment.TEST,
                source="ci",
                started_at=finished - dt.timedelta(minutes=25),
                finished_at=finished,
            )
            cases = [c for r in in_scope for c in cases_by_req[r.pk]]
            failing = set(rng.sample(range(len(cases)), k=min(errors, len(cases))))
            run_results = [
                TestResult(
                    release=release,
                    test_case=case,
                    status="error" if k in failing else "passed",
                    finished_at=finished,
                    duration=round(rng.uniform(0.05, 3.0), 3),
                    message="TimeoutError: operation did not finish within 30s" if k in failing else "",
                )
                for k, case in enumerate(cases)
            ]
            run.tests, run.passed, run.errors = len(cases), len(cases) - len(failing), len(failing)
            runs.append(run)
            results.append(run_results)
            # Blockers found in test three days before going live, fixed two days after.
            for _ in range(blockers):
                number += 1
                created_at = deployed - dt.timedelta(days=3, hours=rng.randint(0, 20))
                defects.append(
                    self._track_defect(
                        project, number, release, Environment.TEST, "blocker", created_at, reporter, rng
                    )
                )
                moves.append(self._fixed_walk(created_at, deployed + dt.timedelta(days=2)))
            if went_bad:
                when = deployed + dt.timedelta(days=rng.randint(3, 25), hours=rng.randint(0, 12))
                if rng.random() < 0.6:
                    incidents.append(
                        Incident(
                            project=project,
                            release=release,
                            severity=rng.choice(["sev2", "sev3"]),
                            title=rng.choice(INCIDENT_TITLES).format(c=rng.choice(spec["components"])),
                            description=f"Customers affected after {project.key} {release.version} went live.",
                            started_at=when,
                            detected_at=when + dt.timedelta(minutes=rng.randint(5, 60)),
                            restored_at=when + dt.timedelta(hours=rng.randint(1, 8)),
                            reported_by=owner,
                        )
                    )
                else:
                    number += 1
                    defects.append(
                        self._track_defect(
                            project, number, release, Environment.PRODUCTION, "major", when, reporter, rng
                        )
                    )
                    moves.append(self._fixed_walk(when, when + dt.timedelta(days=4)))
        Release.objects.bulk_update(created, ["created_at"])
        for release, pairs in scope:  # set when work on the release started
            scope_change(add=pairs, at=release.created_at)
        TestRun.objects.bulk_create(runs, batch_size=BATCH)
        batch = []
        for run, run_results in zip(runs, results, strict=True):
            for result in run_results:
                result.run = run
                batch.append(result)
        TestResult.objects.bulk_create(batch, batch_size=BATCH)
        Defect.objects.bulk_create(defects, batch_size=BATCH)
        DefectTransition.objects.bulk_create(
            [
                DefectTransition(defect=d, from_status=a, to_status=b, resolution=res, at=at, by=reporter)
                for d, walk in zip(defects, moves, strict=True)
                for a, b, res, at in walk
            ],
            batch_size=BATCH,
        )
        Incident.objects.bulk_create(incidents, batch_size=BATCH)
        for incident in incidents:
            incident.created_at = incident.detected_at
        Incident.objects.bulk_update(incidents, ["created_at"], batch_size=BATCH)
        self.report.releases += len(created)
        self.report.runs += len(runs)
        self.report.results += len(batch)
        self.report.defects += len(defects)
        self.report.incidents += len(incidents)
        backfill_release_scores(project=project)

    @staticmethod
    def _track_defect(project, number, release, environment, severity, created_at, reporter, rng) -> Defect:
        return Defect(
            project=project,
            number=number,
            key=f"{project.key}-{number}",
            title=f"{rng.choice(SYMPTOMS).capitalize()} in {release.version}",
            description="Synthetic defect of the demo's track record.",
            severity=severity,
            priority="highest" if severity == "blocker" else "medium",
            status=DefectStatus.CLOSED,
            resolution=Resolution.FIXED,
            reporter=reporter,
            found_in_release=release,
            found_in_environment=environment,
            created_at=created_at.replace(microsecond=0),
            version=6,
        )

    @staticmethod
    def _fixed_walk(
        created_at: dt.datetime, fixed_at: dt.datetime
    ) -> list[tuple[str, str, str, dt.datetime]]:
        """new -> triaged -> in_progress -> resolved (fixed) -> verified -> closed, ending a day after the fix."""
        created_at = created_at.replace(microsecond=0)
        return [
            ("", DefectStatus.NEW, "", created_at),
            (DefectStatus.NEW, DefectStatus.TRIAGED, "", created_at + dt.timedelta(hours=1)),
            (DefectStatus.TRIAGED, DefectStatus.IN_PROGRESS, "", created_at + dt.timedelta(hours=2)),
            (DefectStatus.IN_PROGRESS, DefectStatus.RESOLVED, Resolution.FIXED, fixed_at),
            (
                DefectStatus.RESOLVED,
                DefectStatus.VERIFIED,
                Resolution.FIXED,
                fixed_at + dt.timedelta(hours=6),
            ),
            (DefectStatus.VERIFIED, DefectStatus.CLOSED, Resolution.FIXED, fixed_at + dt.timedelta(days=1)),
        ]
