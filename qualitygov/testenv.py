"""One Redis database per pytest-xdist worker, for the test settings (qualitygov/settings/test.py).

`make test` runs the suite in several xdist worker processes. pytest-django gives each its own test database
(`test_<name>_gw0`, `_gw1`, ...); the test settings give each its own Redis database too, since the cache and the
real-worker tests' queues must not be shared between test databases that hand out the same ids.
"""

from urllib.parse import urlsplit, urlunsplit

REDIS_DATABASES = 16  # redis-server's default number of databases


def redis_url_for_xdist_worker(url: str, worker: str, databases: str = "") -> str:
    """`url` pointed at the Redis database of xdist worker `worker` ("gw0", "gw1", ...).

    `databases` ("8,9,10,11", from QUALITYGOV_TEST_REDIS_DBS) lists one database index per worker; empty: the
    database of `url` plus the worker number. A worker without a database of its own is an error, not a silently
    shared database.
    """
    number = int(worker.removeprefix("gw"))
    parts = urlsplit(url)
    if databases.strip():
        choices = [int(db) for db in databases.split(",") if db.strip()]
        if number >= len(choices):
            raise ValueError(
                f"QUALITYGOV_TEST_REDIS_DBS={databases!r} has no Redis database for xdist worker {worker}"
            )
        db = choices[number]
    else:
        db = int(parts.path.strip("/") or "0") + number
    if not 0 <= db < REDIS_DATABASES:
        raise ValueError(
            f"xdist worker {worker} would use Redis database {db}, outside 0-{REDIS_DATABASES - 1}"
        )
    return urlunsplit(parts._replace(path=f"/{db}"))
