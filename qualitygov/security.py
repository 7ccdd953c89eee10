"""Browser-facing security headers: a Content-Security-Policy with a per-request nonce, and the rest.

Django 5.2 sets X-Content-Type-Options, Referrer-Policy and Cross-Origin-Opener-Policy itself (SecurityMiddleware,
settings SECURE_*); this middleware adds the Content-Security-Policy and Permissions-Policy and fills in any of
the others a response lacks, so every response, static files and errors included, carries the full set.

Templates reach the nonce as ``{{ request.csp_nonce }}`` (``<script nonce="...">``, ``<style nonce="...">``) and
the ids of the <style> elements Plotly wants as ``request.csp_style_ids`` (see STYLE_SRC).
"""

import re
import secrets
from pathlib import Path

from django.conf import settings

# Styles. <style> elements need the nonce like scripts. Style *attributes* are allowed (style-src-attr
# 'unsafe-inline'): the templates use a few for layout, and an attribute cannot load or run anything nor select
# other elements (no CSS-selector data theft), so the risk is cosmetic.
# Plotly (plotly.min.js) writes its CSS rules (modebar, hover labels) at run time into a <style> element it looks
# up by id and creates when missing, and on load adds one more <style> for its map traces (we draw none). A
# <style> it creates carries no nonce and would be refused, so base.html renders those elements up front, empty
# and with the nonce (ids: PLOTLY_STYLE_IDS); Plotly then fills the first through CSSOM (allowed) and skips the
# second. tests/hardening/test_web_security_browser.py fails if a Plotly upgrade adds another one.
STYLE_SRC = "'self' 'nonce-{nonce}'"
STYLE_SRC_ATTR = "'unsafe-inline'"


def _plotly_style_ids() -> tuple[str, ...]:
    ids = ["plotly.js-style-global"]
    try:
        import plotly

        bundle = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_text(errors="ignore")
    except (ImportError, OSError):
        return tuple(ids)
    pattern = r'getElementById\("([0-9a-f]{32,})"\)\)\{var \w+=document\.createElement\("style"\)'
    ids += re.findall(pattern, bundle)
    return tuple(dict.fromkeys(ids))


PLOTLY_STYLE_IDS = _plotly_style_ids()


def build_csp(nonce: str) -> str:
    directives = {
        "default-src": "'self'",
        "script-src": f"'self' 'nonce-{nonce}'",
        "style-src": STYLE_SRC.format(nonce=nonce),
        "style-src-attr": STYLE_SRC_ATTR,
        # Swagger UI's and Plotly's icons include data: SVG images.
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": "'self'",
        "object-src": "'none'",
        "frame-src": "'none'",
        "frame-ancestors": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
    }
    extra = getattr(settings, "QUALITYGOV_CSP_REPORT_URI", "")
    if extra:
        directives["report-uri"] = extra
    return "; ".join(f"{name} {value}" for name, value in directives.items())


PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)

DEFAULT_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
    # Django's XFrameOptionsMiddleware never sees files WhiteNoise serves from STATIC_ROOT.
    "X-Frame-Options": "DENY",
}


# With DEBUG on, Django answers 404 and 500 with its technical pages, whose inline <style> and <script> carry no
# nonce: a CSP would leave a developer an unstyled page with dead buttons. They never exist with DEBUG off.
DEBUG_PAGE_STATUSES = (404, 500)


class SecurityHeadersMiddleware:
    """Gives each request a fresh nonce and each response a CSP built with it (unless the view set its own, or the
    response is one of Django's technical debug pages)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(18)
        request.csp_style_ids = PLOTLY_STYLE_IDS
        response = self.get_response(request)
        debug_page = settings.DEBUG and response.status_code in DEBUG_PAGE_STATUSES
        if "Content-Security-Policy" not in response and not debug_page:
            response["Content-Security-Policy"] = build_csp(request.csp_nonce)
        for name, value in DEFAULT_HEADERS.items():
            if name not in response:
                response[name] = value
        return response
