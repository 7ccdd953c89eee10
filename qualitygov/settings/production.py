"""Production: secrets and hosts from the environment, secure defaults on."""

from .base import *
from .base import env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
PLACEHOLDER_MARKERS = (
    "change-me",
    "changeme",
    "change_me",
    "insecure",
    "example",
    "placeholder",
    "secret-key",
)
if (
    len(SECRET_KEY) < 50
    or len(set(SECRET_KEY)) < 10
    or any(marker in SECRET_KEY.lower() for marker in PLACEHOLDER_MARKERS)
):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "SECRET_KEY is a placeholder or too weak for production (at least 50 characters, not the example's "
        'value). Make one with: python3 -c "import secrets; print(secrets.token_urlsafe(50))"'
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# The OpenAPI schema and Swagger UI need a login unless opened on purpose.
QUALITYGOV_API_DOCS_PUBLIC = env.bool("QUALITYGOV_API_DOCS_PUBLIC", default=False)
# Persistent connections: Django reads CONN_MAX_AGE per database (a top-level setting of that name does nothing).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
# The SMTP relay alert e-mails go through (Django's defaults otherwise: localhost:25, no login, no TLS).
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
