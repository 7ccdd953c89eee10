"""Browser-facing security headers: the Content-Security-Policy (django-csp, a per-request nonce) and the rest.

Django 5.2 sets X-Content-Type-Options, Referrer-Policy and Cross-Origin-Opener-Policy itself (SecurityMiddleware,
settings SECURE_*); django-csp's CSPMiddleware adds the Content-Security-Policy built from
`CONTENT_SECURITY_POLICY` (settings, directives from `csp_directives` below) and leaves Django's technical
404/500 pages alone while DEBUG is on; this module's middleware adds Permissions-Policy and fills in any of the
other headers a response lacks, so every response, static files and errors included, carries the full set.

Templates reach the nonce as ``{{ request.csp_nonce }}`` (``<style nonce="...">``; django-csp puts it into the
header when a page uses it) and the ids of the <style> elements Plotly wants as ``request.csp_style_ids``.
"""

import functools
import re
from pathlib import Path

from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE

# Styles. <style> elements need the nonce like scripts. Style *attributes* are allowed (style-src-attr
# 'unsafe-inline'): the templates use a few for layout, and an attribute cannot load or run anything nor select
# other elements (no CSS-selector data theft), so the risk is cosmetic.
# Plotly (plotly.min.js) writes its CSS rules (modebar, hover labels) at run time into a <style> element it looks
# up by id and creates when missing, and on load adds one more <style> for its map traces (we draw none). A
# <style> it creates carries no nonce and would be refused, so base.html renders those elements up front, empty
# and with the nonce (ids: plotly_style_ids()); Plotly then fills the first through CSSOM (allowed) and skips the
# second. tests/hardening/test_web_security_browser.py fails if a Plotly upgrade adds another one.


@functools.cache
def plotly_style_ids() -> tuple[str, ...]:
    """Read from the Plotly bundle (3.5 MB) on the first request, not when settings import this module."""
    ids = ["plotly.js-style-global"]
    try:
        import plotly

        bundle = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_text(errors="ignore")
    except (ImportError, OSError):
        return tuple(ids)
    pattern = r'getElementById\("([0-9a-f]{32,})"\)\)\{var \w+=document\.createElement\("style"\)'
    ids += re.findall(pattern, bundle)
    return tuple(dict.fromkeys(ids))


def csp_directives(report_uri: str = "") -> dict[str, list[str]]:
    """The policy, as django-csp's ``CONTENT_SECURITY_POLICY["DIRECTIVES"]`` (NONCE: the request's nonce)."""
    directives = {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],
        # Swagger UI's and Plotly's icons include data: SVG images.
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "frame-src": [NONE],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    }
    if report_uri:
        directives["report-uri"] = [report_uri]
    return directives


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


class SecurityHeadersMiddleware:
    """Gives each request the Plotly <style> ids and each response the headers of DEFAULT_HEADERS it lacks (the
    CSP itself comes from django-csp's CSPMiddleware, listed next to this one)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_style_ids = plotly_style_ids()
        response = self.get_response(request)
        for name, value in DEFAULT_HEADERS.items():
            if name not in response:
                response[name] = value
        return response
