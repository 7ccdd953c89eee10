"""The demo's volume: CI and manual runs with results, defects with their histories, incidents with post-mortems.

A mixin of DemoBuilder (demo.builder): it uses the builder's random generator, clock, report and windows.
"""

import datetime as dt

from defects.models import Defect, DefectComment, DefectStatus, DefectTransition, Environment, Resolution
from incidents.models import ActionItem, ActionItemStatus, Incident, PostMortem
from releases.models import ChangeClass, Release, ReleaseStatus
from testing.models import Requirement, TestCase, TestResult, TestRun

from .data import BATCH, FAILURE_MESSAGES, INCIDENT_TITLES, SYMPTOMS, TRIGGERS
from .histories import _sha, defect_walk


class DemoEvidence:
    # --- runs and results -----------------------------------------------------------------------------

    def _runs(self, releases: list[Release], reqs: list[Requirement], cases: list[TestCase], *, qa) -> None:
        scope = {}
        through = Requirement.releases.through
        for req_id, rel_id in through.objects.filter(release__in=releases).values_list(
            "requirement_id", "release_id"
        ):
            scope.setdefault(rel_id, set()).add(req_id)
        # Case behaviour: mostly solid, some flaky, some broken until a fix lands mid-window.
        behaviour = {
            c.pk: self.rng.choices(["solid", "flaky", "broken"], weights=[86, 8, 6])[0] for c in cases
        }
        for release in releases:
            self.progress(1)
            if release.status in (ReleaseStatus.PLANNING, ReleaseStatus.CANCELLED):
                continue
            in_scope = scope.get(release.pk, set())
            auto = [c for c in cases if c.kind == "automated" and c.req.pk in in_scope]
            manual = [c for c in cases if c.kind == "manual" and c.req.pk in in_scope]
            start, end = self._window(release)
            n_runs = 3 if release.change_class == ChangeClass.HOTFIX else 6
            span = (end - start).total_seconds()
            runs = []
            for k in range(n_runs):
                started = start + dt.timedelta(seconds=span * (k + 0.5) / (n_runs + 0.5))
                finished = started + dt.timedelta(minutes=self.rng.randint(6, 40))
                if finished > self.now:
                    finished = self.now
                progress = (k + 1) / n_runs
                run = TestRun(
                    release=release,
                    name=f"ci #{1000 + k}",
                    revision=_sha(self.rng),
                    environment=Environment.TEST if k % 3 else Environment.STAGING,
                    source="ci",
                    started_at=started,
                    finished_at=finished,
                )
                counts = dict.fromkeys(("passed", "failed", "error", "skipped", "blocked", "flaky"), 0)
                run_results = []
                for case in auto:
                    kind = behaviour[case.pk]
                    roll = self.rng.random()
                    flaky = False
                    if kind == "broken" and progress < 0.7:
                        status = "failed" if roll < 0.85 else "error"
                    elif kind == "flaky" and roll < 0.25:
                        status, flaky = ("passed", True) if roll < 0.15 else ("failed", False)
                    elif roll < 0.01:
                        status = "failed"
                    elif roll < 0.03:
                        status = "skipped"
                    else:
                        status = "passed"
                    counts[status] += 1
                    counts["flaky"] += flaky
                    run_results.append(
                        TestResult(
                            release=release,
                            test_case=case,
                            status=status,
                            flaky=flaky,
                            attempts=2 if flaky else 1,
                            duration=round(self.rng.uniform(0.02, 4.0), 3),
                            finished_at=finished,
                            message=self.rng.choice(FAILURE_MESSAGES)
                            if status in ("failed", "error")
                            else "",
                        )
                    )
                run.tests = len(run_results)
                run.passed, run.failed, run.errors = counts["passed"], counts["failed"], counts["error"]
                run.skipped, run.flaky = counts["skipped"], counts["flaky"]
                runs.append((run, run_results))
            if manual:
                started = (
                    end - dt.timedelta(days=2)
                    if release.actual_release_date
                    else self.now - dt.timedelta(hours=30)
                )
                started = max(started, start)
                run = TestRun(
                    release=release,
                    name="Manual regression",
                    environment=Environment.STAGING,
                    source="manual",
                    started_at=started,
                    finished_at=started + dt.timedelta(hours=5),
                    created_by=qa,
                )
                run_results = []
                for case in manual:
                    status = self.rng.choices(
                        ["passed", "failed", "blocked", "skipped"], weights=[88, 5, 3, 4]
                    )[0]
                    step_status = "passed" if status == "passed" else status
                    run_results.append(
                        TestResult(
                            release=release,
                            test_case=case,
                            status=status,
                            finished_at=run.finished_at,
                            executed_by=qa,
                            comment="" if status == "passed" else "See attached notes.",
                            step_results=[{"status": "passed", "comment": ""}] * (len(case.steps) - 1)
                            + [{"status": step_status, "comment": ""}],
                        )
                    )
                run.tests = len(run_results)
                for status in ("passed", "failed", "skipped", "blocked"):
                    setattr(run, status, sum(r.status == status for r in run_results))
                runs.append((run, run_results))
            TestRun.objects.bulk_create([r for r, _ in runs], batch_size=BATCH)
            batch = []
            for run, run_results in runs:
                for result in run_results:
                    result.run = run
                    batch.append(result)
            TestResult.objects.bulk_create(batch, batch_size=BATCH)
            self.report.runs += len(runs)
            self.report.results += len(batch)

    # --- defects --------------------------------------------------------------------------------------

    def _defects(self, project, spec, releases, reqs, cases, *, team, reporter) -> list[Defect]:
        per_release_base = {
            ReleaseStatus.RELEASED: 34,
            ReleaseStatus.READY: 30,
            ReleaseStatus.TESTING: 36,
            ReleaseStatus.PLANNING: 6,
            ReleaseStatus.CANCELLED: 8,
        }
        cases_by_component: dict[str, list[TestCase]] = {}
        for case in cases:
            cases_by_component.setdefault(case.component, []).append(case)
        plans = []  # (created_at, release, environment, pace)
        for release in releases:
            n = per_release_base[release.status] * self.scale
            if release.change_class == ChangeClass.HOTFIX:
                n = max(2, n // 6)
            start, end = self._window(release)
            pace = 1.6 if release.status in (ReleaseStatus.TESTING, ReleaseStatus.PLANNING) else 1.0
            for _ in range(n):
                env = self.rng.choices(
                    [Environment.TEST, Environment.STAGING, Environment.DEVELOPMENT, Environment.PRODUCTION],
                    weights=[55, 20, 12, 13 if release.actual_release_date else 0],
                )[0]
                if env == Environment.PRODUCTION:
                    # An escape: found after the release reached production, within six weeks.
                    lo = release.actual_release_date
                    hi = min(self.now, lo + dt.timedelta(days=42))
                else:
                    lo, hi = start, end
                created = lo + dt.timedelta(seconds=self.rng.uniform(0, max(60.0, (hi - lo).total_seconds())))
                created = min(created, self.now - dt.timedelta(minutes=5)).replace(microsecond=0)
                plans.append((created, release, env, pace))
        plans.sort(key=lambda p: p[0])

        defects, histories = [], []
        severities = ["blocker", "critical", "major", "minor", "trivial"]
        priority_of = {
            "blocker": "highest",
            "critical": "high",
            "major": "medium",
            "minor": "low",
            "trivial": "lowest",
        }
        for number, (created, release, env, pace) in enumerate(plans, start=1):
            moves = defect_walk(rng=self.rng, created_at=created, now=self.now, pace=pace)
            last = moves[-1]
            severity = self.rng.choices(severities, weights=[3, 9, 40, 36, 12])[0]
            if env == Environment.PRODUCTION and severity in ("minor", "trivial") and self.rng.random() < 0.5:
                severity = "major"
            component = self.rng.choice(spec["components"])
            assignee = self.rng.choice(team) if len(moves) > 1 or self.rng.random() < 0.3 else None
            resolved_fixed = last.resolution == Resolution.FIXED
            defects.append(
                Defect(
                    project=project,
                    number=number,
                    key=f"{project.key}-{number}",
                    title=f"{component.capitalize()} {self.rng.choice(SYMPTOMS)} {self.rng.choice(TRIGGERS)}",
                    description="Steps to reproduce are in the linked test case.\n\nSeen in build "
                    f"{_sha(self.rng)} on {env}.",
                    severity=severity,
                    priority=priority_of[severity]
                    if self.rng.random() < 0.7
                    else self.rng.choice(list(priority_of.values())),
                    component=component,
                    status=last.to_status,
                    resolution=last.resolution,
                    assignee=assignee,
                    reporter=reporter,
                    found_in_release=release,
                    found_in_environment=env,
                    fixed_in_release=release if resolved_fixed and env != Environment.PRODUCTION else None,
                    created_at=created,
                    version=len(moves),
                )
            )
            histories.append(moves)
        created_defects = Defect.objects.bulk_create(defects, batch_size=BATCH)
        # updated_at is auto_now: leave it; created_at is a plain default so the past dates stick.

        # Duplicates point at an earlier defect of the same project with the same component when possible.
        dups = []
        by_component: dict[str, list[Defect]] = {}
        for defect in created_defects:
            if defect.resolution == Resolution.DUPLICATE:
                earlier = by_component.get(defect.component) or created_defects[: max(1, defect.number - 1)]
                original = self.rng.choice(earlier)
                if original.pk != defect.pk:
                    defect.duplicate_of = original
                    dups.append(defect)
                else:
                    # The very first defect cannot duplicate anything: it was not a defect after all.
                    defect.resolution = Resolution.NOT_A_DEFECT
                    histories[defect.number - 1][-1].resolution = Resolution.NOT_A_DEFECT
                    dups.append(defect)
            by_component.setdefault(defect.component, []).append(defect)
        Defect.objects.bulk_update(dups, ["duplicate_of", "resolution"], batch_size=BATCH)

        transitions, comments = [], []
        actors = team + [reporter]
        for defect, moves in zip(created_defects, histories, strict=True):
            for move in moves:
                by = reporter if move.from_status == "" else self.rng.choice(actors)
                comment = ""
                if move.to_status == DefectStatus.REOPENED:
                    comment = "Still reproducible on the latest build."
                elif move.to_status == DefectStatus.CLOSED and move.resolution == Resolution.DUPLICATE:
                    comment = f"Duplicate of {defect.duplicate_of.key}." if defect.duplicate_of else ""
                transitions.append(move.transition(defect=defect, by=by, comment=comment))
            if len(moves) > 2 and self.rng.random() < 0.3:
                comments.append(
                    DefectComment(
                        defect=defect,
                        author=self.rng.choice(actors),
                        body="Root cause found; fix in review.",
                        created_at=moves[1].at + dt.timedelta(minutes=30),
                    )
                )
        DefectTransition.objects.bulk_create(transitions, batch_size=BATCH)
        DefectComment.objects.bulk_create(comments, batch_size=BATCH)

        # Links: most defects found by tests point at a failing test case and its requirement.
        case_links, req_links = [], []
        for defect in created_defects:
            pool = cases_by_component.get(defect.component)
            if (
                pool
                and defect.found_in_environment in (Environment.TEST, Environment.STAGING)
                and self.rng.random() < 0.6
            ):
                case = self.rng.choice(pool)
                case_links.append(Defect.test_cases.through(defect_id=defect.pk, testcase_id=case.pk))
                req_links.append(Defect.requirements.through(defect_id=defect.pk, requirement_id=case.req.pk))
        Defect.test_cases.through.objects.bulk_create(case_links, batch_size=BATCH, ignore_conflicts=True)
        Defect.requirements.through.objects.bulk_create(req_links, batch_size=BATCH, ignore_conflicts=True)

        self.report.defects += len(created_defects)
        self.report.transitions += len(transitions)
        return created_defects

    # --- incidents ------------------------------------------------------------------------------------

    def _incidents(self, project, spec, releases, defects, *, team, owner, author) -> None:
        escapes: dict[int, list[Defect]] = {}
        for defect in defects:
            if defect.found_in_environment == Environment.PRODUCTION:
                escapes.setdefault(defect.found_in_release_id, []).append(defect)
        hotfixed = {r.hotfix_for_id for r in releases if r.hotfix_for_id}
        per_release = max(1, round(self.scale**0.5))
        incidents, links, postmortems, actions = [], [], [], []
        for release in releases:
            if not release.actual_release_date:
                continue
            count = (
                per_release
                if release.pk in hotfixed
                else sum(self.rng.random() < 0.35 for _ in range(per_release))
            )
            for i in range(count):
                started = release.actual_release_date + dt.timedelta(hours=self.rng.uniform(2, 24 * 12))
                if started > self.now - dt.timedelta(hours=1):
                    continue
                detected = started + dt.timedelta(minutes=self.rng.randint(3, 90))
                severity = self.rng.choices(["sev1", "sev2", "sev3", "sev4"], weights=[1, 3, 5, 2])[0]
                restored = detected + dt.timedelta(minutes=self.rng.randint(20, 60 * 14))
                # The most recent incident of the newest release is still open.
                is_open = release == releases[-4] and i == 0 and spec["key"] != "OPS"
                incident = Incident(
                    project=project,
                    release=release,
                    severity=severity,
                    title=self.rng.choice(INCIDENT_TITLES).format(c=self.rng.choice(spec["components"])),
                    description=f"Customers affected after {project.key} {release.version} went live.",
                    started_at=started,
                    detected_at=min(detected, self.now),
                    restored_at=None if is_open or restored > self.now else restored,
                    reported_by=owner,
                )
                incidents.append(incident)
        Incident.objects.bulk_create(incidents, batch_size=BATCH)
        for incident in incidents:
            incident.created_at = incident.detected_at
            pool = escapes.get(incident.release_id, [])
            for defect in self.rng.sample(pool, k=min(len(pool), self.rng.randint(1, 2))):
                links.append(Incident.defects.through(incident_id=incident.pk, defect_id=defect.pk))
            if incident.restored_at and incident.severity in ("sev1", "sev2", "sev3"):
                postmortems.append(
                    PostMortem(
                        incident=incident,
                        author=author,
                        summary=f"{incident.title} for {int((incident.restored_at - incident.started_at).total_seconds() // 60)} minutes.",
                        root_cause="A change in the release was not covered by an integration test.",
                        findings="Alerting fired late; the rollback took longer than the runbook says.",
                        lessons="Add a contract test; page on error rate, not only on availability.",
                        created_at=incident.restored_at + dt.timedelta(days=1),
                    )
                )
                for j in range(self.rng.randint(1, 3)):
                    due = (incident.restored_at + dt.timedelta(days=self.rng.randint(5, 30))).date()
                    overdue = due < self.now.date()
                    status = (
                        ActionItemStatus.DONE
                        if overdue and self.rng.random() < 0.6
                        else (
                            ActionItemStatus.OPEN if self.rng.random() < 0.7 else ActionItemStatus.IN_PROGRESS
                        )
                    )
                    done_at = None
                    if status == ActionItemStatus.DONE:
                        done_at = min(self.now, dt.datetime.combine(due, dt.time(12), tzinfo=dt.UTC))
                    actions.append(
                        ActionItem(
                            incident=incident,
                            title=[
                                "Add an integration test",
                                "Tune the alert threshold",
                                "Update the rollback runbook",
                            ][j],
                            owner=self.rng.choice(team),
                            due_date=due,
                            status=status,
                            completed_at=done_at,
                        )
                    )
        Incident.objects.bulk_update(incidents, ["created_at"], batch_size=BATCH)
        Incident.defects.through.objects.bulk_create(links, batch_size=BATCH, ignore_conflicts=True)
        PostMortem.objects.bulk_create(postmortems, batch_size=BATCH)
        ActionItem.objects.bulk_create(actions, batch_size=BATCH)
        self.report.incidents += len(incidents)
