"""Test settings: fast hashing, mail kept in memory; database and broker follow the environment like local."""

from .base import *

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests drive Celery explicitly: eager unless a test starts a real worker.
CELERY_TASK_ALWAYS_EAGER = True
QUALITYGOV_RECOMPUTE_DELAY = 0
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"login": "1000/min"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The failed-login limits are tested with their own figures (tests/hardening/test_web_security.py); elsewhere the
# suite's many wrong passwords from 127.0.0.1 (API fuzzing included) must not lock out the next test's login.
QUALITYGOV_LOGIN_MAX_FAILURES = 1000
