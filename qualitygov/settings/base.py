"""Settings shared by every mode. Every deployment knob comes from the environment."""

import os
import tempfile
from pathlib import Path

import environ
from celery.schedules import crontab

from qualitygov import security as _security

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# An optional .env file next to manage.py (never committed) for local overrides.
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="dev-insecure-qualitygov-secret-key-change-me-0123456789abcdef")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# QualityGov's own apps in layer order (docs/architecture.md); the URLconf includes the urls/api_urls of each.
QUALITYGOV_APPS = [
    "notifications",
    "releases",
    "defects",
    "testing",
    "incidents",
    "measures",
    "metrics",
    "gates",
    "dashboards",
    "demo",
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files (the CSP allows no CDN)
    "csp",
    *QUALITYGOV_APPS,
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # django-csp: the Content-Security-Policy, a nonce per request
    "qualitygov.security.SecurityHeadersMiddleware",  # Permissions-Policy and the other headers on every response
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "qualitygov.middleware.RejectHostileInputMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",  # pages; the API authenticates itself (urls.py)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",  # request.htmx: true for requests htmx sends (HX-Request)
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so it sees exceptions first: a lost database connection becomes a 503 with a message.
    "qualitygov.resilience.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "qualitygov.urls"
WSGI_APPLICATION = "qualitygov.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "releases.context_processors.navigation",
                "notifications.context_processors.unread_notifications",
            ],
        },
    },
]

# Database: SQLite file in the project folder unless DATABASE_URL points elsewhere.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A busy timeout so a dev server and a management command can share the file.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith(("postgresql", "postgis"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
import plotly as _plotly  # noqa: E402

# plotly.min.js is served straight from the installed plotly package, so it always matches plotly.py.
STATICFILES_DIRS = [BASE_DIR / "static", ("plotly", Path(_plotly.__file__).parent / "package_data")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Web security (qualitygov/security.py, qualitygov/ratelimit.py) ------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# The Content-Security-Policy (django-csp; directives in qualitygov/security.py). QUALITYGOV_CSP_REPORT_URI: where
# browsers report violations (empty: nowhere).
QUALITYGOV_CSP_REPORT_URI = env.str("QUALITYGOV_CSP_REPORT_URI", default="")
CONTENT_SECURITY_POLICY = {"DIRECTIVES": _security.csp_directives(QUALITYGOV_CSP_REPORT_URI)}
# Failed log-ins (form and POST /api/v1/auth/token/) per client IP and per username within a window.
QUALITYGOV_LOGIN_MAX_FAILURES = env.int(
    "QUALITYGOV_LOGIN_MAX_FAILURES", default=10
)  # per address and username
QUALITYGOV_LOGIN_MAX_FAILURES_PER_IP = env.int("QUALITYGOV_LOGIN_MAX_FAILURES_PER_IP", default=50)
QUALITYGOV_LOGIN_WINDOW_SECONDS = env.int("QUALITYGOV_LOGIN_WINDOW_SECONDS", default=300)
# Behind N reverse proxies that append to X-Forwarded-For, the client is the N-th address from the right; the
# header is read only from a peer inside QUALITYGOV_TRUSTED_PROXY_NETWORKS (default: loopback and private ranges).
QUALITYGOV_TRUSTED_PROXIES = env.int("QUALITYGOV_TRUSTED_PROXIES", default=0)
QUALITYGOV_TRUSTED_PROXY_NETWORKS = env.list("QUALITYGOV_TRUSTED_PROXY_NETWORKS", default=[])
# Who may start a project (and so become its admin): "staff" (is_staff or superuser) or "everyone" signed in.
QUALITYGOV_PROJECT_CREATION = env.str("QUALITYGOV_PROJECT_CREATION", default="staff")
# Outbound requests (webhooks) only reach public addresses; list internal host names or networks an operator
# wants reachable anyway, comma-separated (qualitygov/outbound.py).
QUALITYGOV_OUTBOUND_ALLOW = env.list("QUALITYGOV_OUTBOUND_ALLOW", default=[])
# /api/schema/ and /api/docs/ without a login: on for local development and tests, off in production.
QUALITYGOV_API_DOCS_PUBLIC = env.bool("QUALITYGOV_API_DOCS_PUBLIC", default=True)
# JSON bodies nested deeper than this are refused with 400 before they are parsed (qualitygov/parsers.py).
QUALITYGOV_MAX_JSON_DEPTH = env.int("QUALITYGOV_MAX_JSON_DEPTH", default=32)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Uploads: anything larger than this is refused with 413 before it is parsed.
QUALITYGOV_MAX_UPLOAD_BYTES = env.int("QUALITYGOV_MAX_UPLOAD_BYTES", default=50 * 1024 * 1024)
# JUnit reports: the limit on the decompressed report (a 1,000,000-testcase report is ~150 MB, ~15 MB gzipped),
# the size above which the report is ingested by a Celery worker (the API answers 202 with a status URL), and
# the folder the web and worker processes share for those queued reports.
QUALITYGOV_JUNIT_MAX_BYTES = env.int("QUALITYGOV_JUNIT_MAX_BYTES", default=512 * 1024 * 1024)
QUALITYGOV_JUNIT_ASYNC_BYTES = env.int("QUALITYGOV_JUNIT_ASYNC_BYTES", default=16 * 1024 * 1024)
# On PostgreSQL, reports from this size up are staged by COPY and settled in SQL (flat memory at any size).
QUALITYGOV_JUNIT_STAGED_BYTES = env.int("QUALITYGOV_JUNIT_STAGED_BYTES", default=4 * 1024 * 1024)
QUALITYGOV_JUNIT_SPOOL_DIR = env.str(
    "QUALITYGOV_JUNIT_SPOOL_DIR", default=os.path.join(tempfile.gettempdir(), "qualitygov-junit")
)
DATA_UPLOAD_MAX_MEMORY_SIZE = QUALITYGOV_MAX_UPLOAD_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 20000

# --- REST framework -------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: a call without credentials gets 401 with `WWW-Authenticate: Token`, which CI clients
        # understand; the browser's session (with CSRF on unsafe methods) still works.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "rest_framework.filters.OrderingFilter",
    ],
    # JSON with bounded nesting, no control characters in short fields, sane dates (qualitygov/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "qualitygov.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "qualitygov.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "qualitygov.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": "20/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "QualityGov API",
    "DESCRIPTION": "Release quality governance: evidence, metrics, quality gates and go/no-go decisions.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Error responses (400/401/403/404/409/413/415) with their body schema, documented in one pass.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "qualitygov.schema.document_error_responses",
    ],
    # Several models have a "status" field with different choices: name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "ReleaseStatusEnum": "releases.models.ReleaseStatus",
        "RoleEnum": "releases.models.Role",
        "ChangeClassEnum": "releases.models.ChangeClass",
        "DefectStatusEnum": "defects.models.DefectStatus",
        "ResolutionEnum": "defects.models.Resolution",
        "SeverityEnum": "defects.models.Severity",
        "PriorityEnum": "defects.models.Priority",
        "EnvironmentEnum": "defects.models.Environment",
        "EvaluationStatusEnum": "gates.models.EvaluationStatus",
        "OutcomeEnum": "gates.models.Outcome",
        "DecisionKindEnum": "gates.models.DecisionKind",
        "IncidentSeverityEnum": "incidents.models.IncidentSeverity",
        "ActionItemStatusEnum": "incidents.models.ActionItemStatus",
        "AlertDirectionEnum": "metrics.models.AlertDirection",
        "DeliveryStatusEnum": "metrics.models.DeliveryStatus",
        "MeasureDirectionEnum": "measures.models.Direction",
        "FindingLevelEnum": "measures.models.FindingLevel",
        "RunSourceEnum": "testing.models.RunSource",
        "RunStatusEnum": "testing.models.RunStatus",
        "ResultStatusEnum": "testing.models.ResultStatus",
        "TestCaseKindEnum": "testing.models.TestCaseKind",
        "CriticalityEnum": "testing.models.Criticality",
        "ManualResultStatusEnum": "testing.services.MANUAL_STATUSES",
        "NotificationKindEnum": "notifications.kinds.Kind",
    },
}

# --- Celery ---------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
# Without a broker, tasks run in-process so one command gives a working app.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 10 * 60
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TIMEZONE = "UTC"
# Longer than the longest countdown/ETA we ever schedule, so a late-acked task is not redelivered early.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Nothing reads task results: not storing them also spares every enqueue a round trip to the result store, which
# with Redis down kept each write request waiting ~20 s for its reconnect attempts (tests/hardening/test_faults_redis).
CELERY_TASK_IGNORE_RESULT = True
# With the broker down, give up publishing quickly: callers record the work in the database first (PendingRecompute)
# and the sweep picks it up, so a web request must not wait for the broker.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BEAT_SCHEDULE = {
    "daily-metric-snapshots": {
        "task": "metrics.tasks.snapshot_all_active",
        "schedule": crontab(minute=15, hour=0),
    },
    "sweep-pending-recomputes": {
        "task": "metrics.tasks.sweep_pending_recomputes",
        "schedule": 60.0,
    },
    "expire-waivers": {
        "task": "gates.tasks.expire_waivers",
        "schedule": crontab(minute=5),
    },
    "sweep-notification-events": {
        "task": "notifications.tasks.sweep_pending_events",
        "schedule": 60.0,
    },
    "expiring-waiver-notices": {
        "task": "gates.tasks.notify_expiring_waivers",
        "schedule": crontab(minute=0, hour=6),
    },
    "scheduled-gate-evaluations": {
        "task": "gates.tasks.evaluate_scheduled_gates",
        "schedule": crontab(minute=30, hour="*/6"),
    },
}
# Coalescing window for metric recomputes after events (seconds).
QUALITYGOV_RECOMPUTE_DELAY = env.int("QUALITYGOV_RECOMPUTE_DELAY", default=10)

CACHES = {
    "default": (
        {
            # Misses instead of errors while Redis is down (see qualitygov/resilience.py); short socket timeouts so
            # a hung Redis costs a page at most a second.
            "BACKEND": "qualitygov.resilience.FailSoftRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# Where people reach this site: links in notification e-mails and chat messages start with it.
QUALITYGOV_SITE_URL = env("QUALITYGOV_SITE_URL", default="http://localhost:8000")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="qualitygov@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
