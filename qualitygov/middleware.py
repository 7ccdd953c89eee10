"""Query strings and submitted forms with control characters (NUL included) or dates outside the sane range are
refused (400) before any view (qualitygov.inputs): PostgreSQL cannot store or compare text containing NUL, so a
filter such as `?q=%00` or a form field `project=a%00b` would otherwise end in a 500, and a CR/LF in a version
broke every download named after it. JSON bodies get the same rules in qualitygov.parsers.
"""

from django.http import HttpResponseBadRequest, JsonResponse

from . import inputs

FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RejectHostileInputMiddleware:
    """Answer 400 to a query string or submitted form fields (pages and API) that break qualitygov.inputs' rules:
    control characters (NUL included: PostgreSQL cannot store or compare it) and dates outside the sane range.
    JSON under /api/ is checked by qualitygov.parsers. Uploaded files are not looked at: their content is the
    views' business. JSON answers under /api/, plain text elsewhere."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        api = request.path_info.startswith("/api/")
        bad = inputs.querydict_problem(request.GET)
        if (
            bad is None
            and request.method in ("POST", "PUT", "PATCH")
            and request.content_type in FORM_CONTENT_TYPES
        ):
            try:
                # The same parse CsrfViewMiddleware (pages) or DRF (API) does next; Django caches it.
                bad = inputs.querydict_problem(request.POST)
            except Exception:  # a malformed multipart body: the view's parser reports it
                bad = None
        if bad is not None:
            field, reason = bad
            message = f"'{field}' {reason}."
            if api:
                return JsonResponse({"detail": message, "code": "invalid", "field": field}, status=400)
            return HttpResponseBadRequest(message)
        return self.get_response(request)
