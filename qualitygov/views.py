"""Site-wide pages: health check, and the API schema and docs (behind a login in production)."""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny, IsAuthenticated


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """Database always; Redis when configured. 200 when all is well, 503 when degraded."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc.__class__.__name__}"
    if settings.REDIS_URL:
        try:
            import redis

            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {exc.__class__.__name__}"
    else:
        checks["redis"] = "not configured (tasks run in-process)"
    healthy = all(v == "ok" or v.startswith("not configured") for v in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks}, status=200 if healthy else 503
    )


def not_found(request, exception=None):
    """404 for URLs no route matches: JSON under /api/ (what API clients and the schema expect), else the page."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


def _docs_public() -> bool:
    return bool(getattr(settings, "QUALITYGOV_API_DOCS_PUBLIC", False))


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema: a session or token is needed unless QUALITYGOV_API_DOCS_PUBLIC (off in production)."""

    schema = None  # not an operation of the API it describes

    def get_permissions(self):
        return [AllowAny()] if _docs_public() else [IsAuthenticated()]


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI: anonymous visitors are sent to the log-in page unless QUALITYGOV_API_DOCS_PUBLIC."""

    permission_classes = [AllowAny]
    schema = None

    def get(self, request, *args, **kwargs):
        if not _docs_public() and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return super().get(request, *args, **kwargs)
