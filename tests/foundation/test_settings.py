"""Settings switch on the environment; production passes Django's deployment checks; /healthz answers JSON."""

import json
import os

import pytest

from .procs import run_python

PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], 'name': str(s.DATABASES['default']['NAME']), "
    "'eager': s.CELERY_TASK_ALWAYS_EAGER, 'broker': s.CELERY_BROKER_URL, 'debug': s.DEBUG, "
    "'cache': s.CACHES['default']['BACKEND'], 'secret': s.SECRET_KEY, 'hosts': s.ALLOWED_HOSTS}))"
)
CLEARED = (
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_ENV",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DJANGO_DEBUG",
    "DJANGO_SETTINGS_MODULE",
)


def run_settings(**env) -> dict:
    """Load the settings in a fresh interpreter with exactly these variables set, and report them."""
    clean = {k: v for k, v in os.environ.items() if k not in CLEARED}
    clean.update(DJANGO_SETTINGS_MODULE="qualitygov.settings", **env)
    out = run_python("-c", PROBE, env=clean)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_no_environment_means_sqlite_eager_celery_and_debug():
    settings = run_settings()
    assert settings["engine"] == "django.db.backends.sqlite3"
    assert settings["name"].endswith("db.sqlite3")
    assert settings["eager"] is True and settings["broker"] == "memory://"
    assert settings["debug"] is True
    assert settings["cache"].endswith("LocMemCache")


def test_database_and_redis_urls_switch_to_postgresql_and_a_real_broker():
    settings = run_settings(
        DATABASE_URL="postgres://qg:pw@db.example:5432/qualitygov", REDIS_URL="redis://cache.example:6379/2"
    )
    assert settings["engine"] == "django.db.backends.postgresql"
    assert settings["name"] == "qualitygov"
    assert settings["eager"] is False
    assert settings["broker"] == "redis://cache.example:6379/2"
    assert settings["cache"].endswith("RedisCache")


GOOD_KEY = "k3y-" + "a1B2c3D4e5" * 6


def test_production_reads_secret_and_hosts_and_turns_debug_off():
    settings = run_settings(
        DJANGO_ENV="production", SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="qg.example.com,127.0.0.1"
    )
    assert settings["debug"] is False
    assert settings["secret"] == GOOD_KEY
    assert settings["hosts"] == ["qg.example.com", "127.0.0.1"]


def test_production_keeps_database_connections_for_60_seconds():
    # given the production settings with no CONN_MAX_AGE in the environment
    clean = {k: v for k, v in os.environ.items() if k not in (*CLEARED, "CONN_MAX_AGE")}
    clean.update(
        DJANGO_SETTINGS_MODULE="qualitygov.settings",
        DJANGO_ENV="production",
        SECRET_KEY="k3y-" + "a1B2c3D4e5" * 6,
        ALLOWED_HOSTS="qg.example.com",
        DATABASE_URL="postgres://qg:pw@db.example:5432/qualitygov",
    )
    probe = (
        "import django; django.setup(); from django.conf import settings as s; from django.db import connections; "
        "print(s.DATABASES['default']['CONN_MAX_AGE'], connections['default'].settings_dict['CONN_MAX_AGE'])"
    )
    # when they are loaded, then the database connection (where Django reads it) is kept for 60 s
    out = run_python("-c", probe, env=clean)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["60", "60"]


def test_fault_points_are_off_outside_the_test_settings(tmp_path):
    # given a production process with a fault point named in its environment
    clean = {k: v for k, v in os.environ.items() if k not in CLEARED}
    clean.update(
        DJANGO_SETTINGS_MODULE="qualitygov.settings",
        DJANGO_ENV="production",
        SECRET_KEY="k3y-" + "a1B2c3D4e5" * 6,
        ALLOWED_HOSTS="qg.example.com",
        QUALITYGOV_FAULT_POINT="metrics.snapshot_release.stored",
        QUALITYGOV_FAULT_DIR=str(tmp_path),
        QUALITYGOV_FAULT_TIMEOUT="5",
    )
    probe = (
        "import django; django.setup(); from qualitygov import faults; "
        "faults.checkpoint('metrics.snapshot_release.stored'); print('passed')"
    )
    # when the code reaches the point, then it passes straight on and nothing is written
    out = run_python("-c", probe, env=clean)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("passed")
    assert list(tmp_path.iterdir()) == []


def test_production_without_a_secret_refuses_to_start():
    clean = {k: v for k, v in os.environ.items() if k not in CLEARED}
    clean.update(DJANGO_SETTINGS_MODULE="qualitygov.settings", DJANGO_ENV="production", ALLOWED_HOSTS="x")
    result = run_python("-c", PROBE, env=clean)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def _example_env() -> dict:
    """The variables of .env.production.example, the documented production configuration."""
    from pathlib import Path

    found = {}
    for line in (Path(__file__).resolve().parents[2] / ".env.production.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            found[name.strip()] = value.strip()
    return found


@pytest.mark.parametrize(
    "key",
    [
        _example_env()["SECRET_KEY"],  # the example's placeholder
        "dev-insecure-qualitygov-secret-key-change-me-0123456789abcdef",  # the local default
        "x" * 60,
        "short-but-random-Zq81",
        "django-insecure-" + "a1B2c3D4e5" * 5,
    ],
)
def test_production_refuses_a_placeholder_or_weak_secret_key(key):
    """Issue 12: production ran with the example's placeholder key."""
    clean = {k: v for k, v in os.environ.items() if k not in CLEARED}
    clean.update(
        DJANGO_SETTINGS_MODULE="qualitygov.settings",
        DJANGO_ENV="production",
        ALLOWED_HOSTS="x",
        SECRET_KEY=key,
    )
    result = run_python("-c", PROBE, env=clean)
    assert result.returncode != 0
    assert "SECRET_KEY is a placeholder or too weak" in result.stderr


def test_production_passes_check_deploy():
    """Django's deployment checks, drf-spectacular's schema warnings included, report nothing at WARNING level,
    with the documented example (.env.production.example) and the key its comment tells you to make."""
    import secrets

    clean = {k: v for k, v in os.environ.items() if k not in CLEARED}
    clean.update(_example_env())
    clean.update(SECRET_KEY=secrets.token_urlsafe(50))
    result = run_python("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=clean)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


@pytest.mark.django_db
def test_healthz_answers_json_without_login(client, settings):
    settings.REDIS_URL = ""
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_healthz_reports_unreachable_redis_as_degraded(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("error")
