"""The project's URLconf: the composition root that wires every app in (the one core module that may import any app)."""

from importlib import import_module

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import URLResolver, include, path
from django.utils.module_loading import module_has_submodule

from releases.views import home

from . import account_api, account_views, views


def _apps_with(module: str) -> list[str]:
    """QualityGov's apps (settings.QUALITYGOV_APPS, in layer order) that have the given URL module."""
    return [app for app in settings.QUALITYGOV_APPS if module_has_submodule(import_module(app), module)]


# Unmatched URLs: JSON under /api/ (e.g. a project key the route's pattern refuses), the usual page elsewhere.
handler404 = "qualitygov.views.not_found"

api_v1 = [
    path("auth/token/", account_api.ObtainTokenApi.as_view(), name="api-token"),
    *[path("", include(f"{app}.api_urls")) for app in _apps_with("api_urls")],
]


def _authenticated_by_drf(patterns):
    """Django's LoginRequiredMiddleware redirects anonymous page requests to the login form; the API authenticates
    each request itself (DRF: session or token, and a JSON 401/403), so its views are left to DRF."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _authenticated_by_drf(pattern.url_patterns)
        else:
            login_not_required(pattern.callback)
    return patterns


urlpatterns = [
    path("", home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", account_views.RateLimitedLoginView.as_view(), name="login"),
    path("accounts/token/", account_views.api_token, name="api_token"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(_authenticated_by_drf(api_v1))),
    path("api/schema/", login_not_required(views.SchemaView.as_view()), name="api-schema"),
    path("api/docs/", login_not_required(views.DocsView.as_view(url_name="api-schema")), name="api-docs"),
    # Each app's pages in the namespace of its name ("defects:board").
    *[path("", include((f"{app}.urls", app))) for app in _apps_with("urls")],
]
