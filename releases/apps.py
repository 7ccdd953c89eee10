import re

from django.apps import AppConfig
from django.db.backends.signals import connection_created

SQLITE_REGEXP_SUBSTRING = "qualitygov_regexp_substring"


def regexp_substring(text: str | None, pattern: str) -> str | None:
    """What PostgreSQL's substring(text, regex) gives: the pattern's first group, NULL without a match."""
    match = re.search(pattern, text, re.ASCII) if text is not None else None
    return match.group(1) if match else None


def _sqlite_functions(sender, connection, **kwargs):
    """SQLite has no regex substring; the release ordering (selectors.newest_version_first) needs one."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            SQLITE_REGEXP_SUBSTRING, 2, regexp_substring, deterministic=True
        )


class ReleasesConfig(AppConfig):
    name = "releases"
    verbose_name = "Projects and releases"

    def ready(self):
        connection_created.connect(_sqlite_functions, dispatch_uid="releases.sqlite_functions")
