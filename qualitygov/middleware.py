"""Every page needs a login. The API authenticates itself (session or token) through DRF.

Query strings with NUL characters are refused (400) before any view: PostgreSQL cannot store or compare
text containing NUL, so a filter such as `?q=%00` would otherwise end in a 500.
"""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseBadRequest, JsonResponse

PUBLIC_PREFIXES = ("/accounts/login/", "/healthz", "/static/", "/api/")


class LoginRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if not request.user.is_authenticated and not path.startswith(PUBLIC_PREFIXES):
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        return self.get_response(request)


class RejectNulQueryMiddleware:
    """Answer 400 to a query string holding a NUL character (JSON under /api/, plain text elsewhere)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists()):
            message = "Query parameters must not contain NUL characters."
            if request.path_info.startswith("/api/"):
                return JsonResponse({"detail": message, "code": "invalid"}, status=400)
            return HttpResponseBadRequest(message)
        return self.get_response(request)
