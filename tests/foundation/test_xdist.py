"""`make test` runs the suite under pytest-xdist: each worker process has its own test database and Redis database."""

import os

import pytest
from django.conf import settings
from django.db import connection

from qualitygov.testenv import redis_url_for_xdist_worker


def test_each_xdist_worker_gets_the_redis_database_after_the_configured_one():
    assert redis_url_for_xdist_worker("redis://127.0.0.1:6379/0", "gw0") == "redis://127.0.0.1:6379/0"
    assert redis_url_for_xdist_worker("redis://127.0.0.1:6379/0", "gw1") == "redis://127.0.0.1:6379/1"
    assert redis_url_for_xdist_worker("redis://127.0.0.1:6379", "gw2") == "redis://127.0.0.1:6379/2"
    assert redis_url_for_xdist_worker("redis://:pw@cache:6380/3", "gw1") == "redis://:pw@cache:6380/4"


def test_a_list_of_redis_databases_gives_one_to_each_worker_and_refuses_to_share():
    assert (
        redis_url_for_xdist_worker("redis://127.0.0.1:6379/3", "gw1", "8, 9,10") == "redis://127.0.0.1:6379/9"
    )
    with pytest.raises(ValueError, match="no Redis database for xdist worker gw3"):
        redis_url_for_xdist_worker("redis://127.0.0.1:6379/3", "gw3", "8,9,10")
    with pytest.raises(ValueError, match="Redis database 16"):
        redis_url_for_xdist_worker("redis://127.0.0.1:6379/15", "gw1")


def test_the_suite_runs_on_the_test_settings():
    # qualitygov/settings/__init__.py must not pick the local settings when pytest-django names the test ones
    assert settings.SETTINGS_MODULE == "qualitygov.settings.test"
    assert settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]
    assert settings.CELERY_TASK_ALWAYS_EAGER is True and settings.DEBUG is False


@pytest.mark.django_db
def test_this_process_uses_the_databases_of_its_xdist_worker():
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        pytest.skip("not running under pytest-xdist (make test runs with -n auto)")
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite" and "mode=memory" in name:
        # embedded mode: an in-memory SQLite database exists inside its one process, so each worker has its own
        assert connection.cursor().execute("PRAGMA database_list").fetchall()[0][2] == ""
    else:
        assert name.endswith(f"_{worker}")
    if settings.REDIS_URL:
        # subprocesses (real Celery workers, the CLI) inherit the worker's own Redis database
        assert os.environ["REDIS_URL"] == settings.REDIS_URL
        assert settings.CELERY_BROKER_URL == settings.REDIS_URL
        assert settings.CACHES["default"]["LOCATION"] == settings.REDIS_URL
