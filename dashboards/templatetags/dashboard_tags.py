"""{% release_summary release %}: the small metrics card shown on the release page."""

from django import template

from dashboards.tiles import tile
from metrics.selectors import current_release_figures

register = template.Library()


@register.inclusion_tag("dashboards/_release_summary_card.html")
def release_summary(release):
    """Risk band, score and a few key figures of the release for now: the same figures as the dashboard (current
    snapshots, else computed fresh), with their as-of time."""
    snaps = current_release_figures(releases=[release]).get(release.pk, {})
    risk = snaps.get("release_risk_score")
    keys = ("open_defects", "blocking_open_defects", "test_pass_rate", "verified_requirements", "reopen_rate")
    return {
        "release": release,
        "risk": risk,
        "band": risk.details.get("band") if risk else None,
        "tiles": [tile(k, snaps.get(k), None) for k in keys],
    }
