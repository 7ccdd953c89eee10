"""Every page needs a login. The API authenticates itself (session or token) through DRF.

Query strings and submitted page forms with NUL characters are refused (400) before any view: PostgreSQL
cannot store or compare text containing NUL, so a filter such as `?q=%00` or a form field `project=a%00b` would
otherwise end in a 500. API bodies are left to DRF, whose fields refuse NUL with a field error.
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


FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _has_nul(data) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in data.lists())


class RejectNulInputMiddleware:
    """Answer 400 to a query string, or a page's submitted form fields, holding a NUL character (JSON under
    /api/, plain text elsewhere). Uploaded files are not looked at: their content is the views' business."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        api = request.path_info.startswith("/api/")
        bad = _has_nul(request.GET)
        if not bad and not api and request.method == "POST" and request.content_type in FORM_CONTENT_TYPES:
            # The same parse CsrfViewMiddleware does next; Django caches it for the view.
            bad = _has_nul(request.POST)
        if bad:
            message = "Query parameters and form fields must not contain NUL characters."
            if api:
                return JsonResponse({"detail": message, "code": "invalid"}, status=400)
            return HttpResponseBadRequest(message)
        return self.get_response(request)
