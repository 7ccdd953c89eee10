"""Build the demo portfolio: three projects with releases, tests, CI runs, defects and incidents.

On a database that already holds the demo projects (PAY, WEB, OPS) the command refuses, unless
--reset (delete the demo projects and build them again) or --if-missing (do nothing, exit 0; used by
`make run`) is given. Users are kept across resets; their password is set to the demo password.
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from demo.builder import DemoBuilder
from demo.data import DEMO_KEYS, DEMO_PASSWORD, DEMO_USERS, PROJECTS
from demo.services import demo_projects_exist, demo_reset


class Command(BaseCommand):
    help = "Seed demo data (3 projects, 6 months of history). Deterministic with --seed; --scale multiplies volume."

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale", type=int, default=1, help="Volume multiplier (1: a few hundred defects per project)."
        )
        parser.add_argument(
            "--seed", type=int, default=42, help="Random seed; the same seed builds the same data."
        )
        parser.add_argument("--reset", action="store_true", help="Delete the demo projects first, then seed.")
        parser.add_argument(
            "--if-missing", action="store_true", help="Do nothing (exit 0) if demo data exists."
        )
        parser.add_argument("--now", type=str, default="", help=argparse_suppress())

    def handle(self, *args, scale, seed, reset, if_missing, now, **options):
        if scale < 1 or scale > 1000:
            raise CommandError("--scale must be between 1 and 1000.")
        if demo_projects_exist():
            if reset:
                deleted = demo_reset()
                self.stdout.write(f"Deleted {deleted} demo project(s): {', '.join(DEMO_KEYS)}.")
            elif if_missing:
                self.stdout.write("Demo data already present (projects PAY, WEB, OPS); nothing to do.")
                return
            else:
                raise CommandError(
                    "Demo projects (PAY, WEB, OPS) already exist. Run with --reset to delete and rebuild them, "
                    "or --if-missing to skip."
                )
        fixed_now = parse_now(now) if now else timezone.now()
        bar = tqdm(
            total=len(PROJECTS) * DemoBuilder.STEPS_PER_PROJECT,
            desc="Seeding demo data",
            unit="step",
            file=self.stderr._out,
            disable=options.get("verbosity", 1) == 0,
        )
        builder = DemoBuilder(scale=scale, seed=seed, now=fixed_now, progress=bar.update)
        try:
            report = builder.build()
        finally:
            bar.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {report.projects} projects, {report.releases} releases, {report.requirements} requirements, "
                f"{report.test_cases} test cases, {report.runs} runs, {report.results} results, {report.defects} defects "
                f"({report.transitions} transitions), {report.incidents} incidents."
            )
        )
        self.stdout.write(
            f"Demo users (password '{DEMO_PASSWORD}'): "
            + ", ".join(f"{name} ({role})" for name, role in DEMO_USERS.items())
        )


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


def parse_now(value: str) -> dt.datetime:
    """The fixed 'now' for reproducible runs (tests): an ISO 8601 timestamp, UTC when no offset is given."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--now must be an ISO 8601 timestamp, got {value!r}.") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
