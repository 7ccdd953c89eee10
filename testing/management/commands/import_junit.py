"""manage.py import_junit --release ID FILE... : ingest JUnit reports from the command line."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from qualitygov.errors import DomainError
from qualitygov.uploads import upload_from_path
from releases.models import Release
from testing.ingest import junit_ingest


class Command(BaseCommand):
    help = "Ingest JUnit XML reports (plain or .gz) into a release, like POST /api/v1/releases/{id}/junit/."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help="JUnit XML files (gzip is detected).")
        parser.add_argument("--release", type=int, required=True, help="Release id.")
        parser.add_argument("--revision", default="", help="Commit or build revision.")
        parser.add_argument("--environment", default="test", help="development, test, staging or production.")
        parser.add_argument("--run-name", default="", help="Run name (default: the file name).")
        parser.add_argument("--user", default="", help="Username recorded as the uploader (optional).")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")

    def handle(self, *args, **opts):
        release = Release.objects.select_related("project").filter(pk=opts["release"]).first()
        if release is None:
            raise CommandError(f"No release with id {opts['release']}.")
        user = None
        if opts["user"]:
            user = get_user_model().objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(f"No user named {opts['user']}.")
        failures = 0
        files = opts["files"]
        bar = tqdm(files, unit="file", disable=opts["no_progress"], file=self.stderr)
        for path in bar:
            bar.set_description(path[-40:])
            try:
                upload = upload_from_path(path, limit=settings.QUALITYGOV_JUNIT_MAX_BYTES)
            except OSError as exc:
                failures += 1
                self.stderr.write(f"{path}: cannot read ({exc.strerror}).")
                continue
            except DomainError as exc:
                failures += 1
                self.stderr.write(f"{path}: refused: {exc.message}")
                continue
            try:
                outcome = junit_ingest(
                    release=release,
                    upload=upload,
                    by=user,
                    revision=opts["revision"],
                    environment=opts["environment"],
                    run_name=opts["run_name"] or path.rsplit("/", 1)[-1],
                )
            except DomainError as exc:
                failures += 1
                self.stderr.write(f"{path}: refused: {exc.message}")
                continue
            finally:
                upload.close()
            c = outcome.as_dict()
            state = "already ingested (duplicate)" if outcome.duplicate else "ingested"
            self.stdout.write(
                f"{path}: {state} as run {c['run']}: {c['tests']} tests, {c['passed']} passed, {c['failed']} failed, "
                f"{c['error']} error, {c['skipped']} skipped, {c['flaky']} flaky"
            )
        if failures:
            raise CommandError(f"{failures} of {len(files)} file(s) refused.")
