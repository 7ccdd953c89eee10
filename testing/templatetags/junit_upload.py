"""{% junit_upload_form release %}: the "Upload JUnit" form, for users who may upload to the release(s)."""

from django import template

from defects.models import Environment

from ..views_junit import JUnitUploadForm, uploadable_releases

register = template.Library()


@register.inclusion_tag("testing/_junit_upload_form.html", takes_context=True)
def junit_upload_form(context, release=None):
    request = context["request"]
    releases = uploadable_releases(request.user, release=release)
    form = JUnitUploadForm(
        releases=releases,
        initial={"release": release.pk if release else None, "environment": Environment.TEST},
        auto_id="junit-%s",
    )
    return {"form": form, "release": release, "show": bool(releases), "csrf_token": context.get("csrf_token")}
