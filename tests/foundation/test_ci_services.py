"""In CI (CI=true) the suite must really run on PostgreSQL and Redis; this fails loudly if it did not."""

import os

import pytest
from django.conf import settings
from django.db import connection

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
pytestmark = pytest.mark.skipif(
    not IN_CI, reason="only CI must run on PostgreSQL and Redis; local runs may use SQLite"
)


@pytest.mark.django_db
def test_ci_runs_on_postgresql():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        assert "PostgreSQL" in cursor.fetchone()[0]


def test_ci_talks_to_redis():
    import redis

    assert settings.REDIS_URL, "CI must export REDIS_URL"
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3)
    assert client.ping() is True
    client.set("qualitygov:ci-probe", "ok", ex=30)
    assert client.get("qualitygov:ci-probe") == b"ok"
