"""Test settings: fast hashing, mail kept in memory; database and broker follow the environment like local.

Under pytest-xdist (`make test`) each worker process has a test database of its own (pytest-django adds `_gw0`,
`_gw1`, ... to its name) and, from here, a Redis database of its own: `REDIS_URL` is rewritten before `base` reads
it (see qualitygov/testenv.py) and put back into the environment, so that subprocesses a test starts (Celery
workers, the CLI) use it too. `QUALITYGOV_TEST_REDIS_WORKER` records that it was done: such a subprocess, loading
these settings again with the worker's environment, keeps the `REDIS_URL` the test gave it.
"""

import os

from qualitygov.testenv import redis_url_for_xdist_worker

_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _xdist_worker and os.environ.get("REDIS_URL") and not os.environ.get("QUALITYGOV_TEST_REDIS_WORKER"):
    os.environ["REDIS_URL"] = redis_url_for_xdist_worker(
        os.environ["REDIS_URL"], _xdist_worker, os.environ.get("QUALITYGOV_TEST_REDIS_DBS", "")
    )
    os.environ["QUALITYGOV_TEST_REDIS_WORKER"] = _xdist_worker

from .base import *  # noqa: E402 - base reads REDIS_URL, set above for this xdist worker

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests drive Celery explicitly: eager unless a test starts a real worker.
CELERY_TASK_ALWAYS_EAGER = True
QUALITYGOV_RECOMPUTE_DELAY = 0
# Fault points (qualitygov.faults) can be armed only under these settings; elsewhere checkpoint() does nothing.
QUALITYGOV_FAULTS_ENABLED = True
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"login": "1000/min"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The failed-login limits are tested with their own figures (tests/hardening/test_web_security.py); elsewhere the
# suite's many wrong passwords from 127.0.0.1 (API fuzzing included) must not lock out the next test's login.
QUALITYGOV_LOGIN_MAX_FAILURES = 1000
QUALITYGOV_LOGIN_MAX_FAILURES_PER_IP = 100_000
