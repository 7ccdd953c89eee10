"""manage.py import_jira_csv --project KEY FILE [--dry-run] [--as USERNAME] [--environment ENV] [--timezone TZ]"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from defects.jira_import import import_jira_csv, timezone_named
from qualitygov.errors import DomainError
from releases.access import Action, require
from releases.models import Project


class Command(BaseCommand):
    help = "Import defects from a Jira CSV export (creates or updates by Jira issue id). See defects/jira_import.py."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path to the Jira CSV export (UTF-8).")
        parser.add_argument("--project", required=True, help="Key of the project to import into.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Parse and check everything, write nothing."
        )
        parser.add_argument(
            "--as", dest="username", default="", help="Import as this user (needs the import right)."
        )
        parser.add_argument(
            "--environment",
            default=None,
            help="found_in_environment of new defects (default: unknown; a Jira export does not say).",
        )
        parser.add_argument(
            "--timezone",
            default="UTC",
            help="IANA time zone of the export's timestamps that carry no zone (default UTC).",
        )
        parser.add_argument("--no-progress", action="store_true", help="Do not draw the progress bar.")

    def handle(self, *args, **options):
        project = Project.objects.filter(key=options["project"].upper()).first()
        if project is None:
            raise CommandError(f"No project with key '{options['project']}'.")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        by = None
        if options["username"]:
            by = get_user_model().objects.filter(username=options["username"]).first()
            if by is None:
                raise CommandError(f"No user '{options['username']}'.")
            try:
                require(by, project, Action.IMPORT)
            except DomainError as exc:
                raise CommandError(exc.message) from exc
        try:
            tz = timezone_named(options["timezone"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path} is not UTF-8 text: {exc}") from exc

        bar = tqdm(total=0, unit="rows", disable=options["no_progress"], file=self.stderr._out)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            report = import_jira_csv(
                project=project,
                text=text,
                by=by,
                dry_run=options["dry_run"],
                environment=options["environment"],
                tz=tz,
                progress=progress,
            )
        except DomainError as exc:
            raise CommandError(f"Nothing imported: {exc.message}") from exc
        finally:
            bar.close()
        prefix = "Dry run (nothing written): " if report.dry_run else ""
        self.stdout.write(
            f"Timestamps without a zone were read as {options['timezone'] or 'UTC'}; "
            f"found-in environment: {options['environment'] or 'unknown (not given)'}."
        )
        self.stdout.write(
            f"{prefix}{report.rows} rows: {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {len(report.skipped)} skipped; {report.transitions} transitions; "
            f"{len(report.releases_created)} releases created."
        )
        for skipped in report.skipped:
            self.stdout.write(
                f"  skipped line {skipped.line} ({skipped.external_id or 'no id'}): {skipped.reason}"
            )
