"""manage.py backfill_metrics [--project KEY] [--days N]: daily snapshots as of the end of each past day (yesterday
the last), from history, then a snapshot as of now of every active release and project."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from metrics import services
from metrics.models import MetricSnapshot
from releases.models import Project


class Command(BaseCommand):
    help = "Rebuild daily metric snapshots as of the end of each past day from the stored history."

    def add_arguments(self, parser):
        parser.add_argument("--project", help="Project key (default: every project).")
        parser.add_argument("--days", type=int, default=30, help="How many past days (default 30).")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when past daily snapshots already exist (used by `make run`).",
        )

    def handle(self, *args, project=None, days=30, no_progress=False, if_empty=False, **options):
        if days < 1 or days > 3650:
            raise CommandError("--days must be between 1 and 3650.")
        if if_empty and MetricSnapshot.objects.filter(as_of__lt=services.backfill_days(days=1)[0]).exists():
            self.stdout.write("Past snapshots already exist; nothing to backfill.")
            self._snapshot_now()
            return
        target = None
        if project:
            target = Project.objects.filter(key=project.upper()).first()
            if target is None:
                raise CommandError(f"No project with key {project!r}.")
        scopes = services.backfill_scopes(project=target, days=days)
        instants = services.backfill_days(days=days)
        total = len(scopes) * len(instants)
        with tqdm(total=total, unit="snapshot", disable=no_progress, desc="backfill") as bar:
            for as_of in instants:
                for proj, release in scopes:
                    services.backfill_scope(project=proj, release=release, as_of=as_of)
                    bar.update(1)
        self.stdout.write(
            self.style.SUCCESS(
                f"Stored {total} scope snapshots ({len(scopes)} scopes x {len(instants)} days)."
            )
        )
        self._snapshot_now()

    def _snapshot_now(self) -> None:
        """Finish with a snapshot as of now of every active release and project, so pages show current figures."""
        done = services.snapshot_all_active()
        self.stdout.write(f"Stored the current snapshot of {done} scopes (active releases and projects).")
        scored = services.backfill_release_scores()
        self.stdout.write(f"Stored the release-date risk score of {scored} released releases (calibration).")
