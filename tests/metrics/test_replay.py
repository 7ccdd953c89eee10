"""Exact replay: edits made today never change a figure as of yesterday (metrics.md, first section)."""

from unittest import mock

import pytest
from django.utils import timezone

from defects.models import Defect
from defects.services import defect_update
from metrics import services
from metrics.flow import defect_flow
from metrics.registry import PROJECT_KEYS, RELEASE_KEYS
from metrics.release_metrics import blocking_open_defects, defect_arrivals_7d, defect_leakage, open_defects
from tests import factories as f

from .demo import build_demo
from .histories import DAY, HOUR, T0, defect

pytestmark = pytest.mark.django_db


def _values(release, as_of):
    results = services.compute_for_release(release=release, as_of=as_of)
    return {key: (r.value, r.n, r.details) for key, r in results.items()}


def _series(client, release, key):
    end = (timezone.now() - DAY).date().isoformat()
    start = (timezone.now() - 20 * DAY).date().isoformat()
    url = f"/api/v1/releases/{release.pk}/metrics/{key}/series/?from={start}&to={end}"
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()["points"]


def test_edits_today_leave_every_metric_as_of_yesterday_unchanged(project, release, api_client_for, qa):
    build_demo(project, release, days=20)
    other = f.ReleaseFactory(project=project, version="2.5.0", status="planning")
    user = qa
    client = api_client_for(user)
    yesterday = timezone.now() - DAY
    before = _values(release, yesterday)
    before_other = _values(other, yesterday)
    series_keys = [
        "defect_flow",
        "blocking_open_defects",
        "defect_leakage",
        "open_defects",
        "release_risk_score",
    ]
    series_before = {key: _series(client, release, key) for key in series_keys}
    flow_before = defect_flow(release=release, start=yesterday - 10 * DAY, end=yesterday, by_severity=True)

    defects = list(Defect.objects.filter(found_in_release=release, created_at__lt=yesterday).order_by("pk"))
    assert len(defects) > 10
    open_before = sum(1 for d in defects if d.is_open)
    assert open_before > 0 and before["blocking_open_defects"][0] is not None
    for i, d in enumerate(defects):
        data = {"severity": "trivial" if d.is_blocking else "blocker"}
        data["found_in_environment"] = (
            "development" if d.found_in_environment == "production" else "production"
        )
        if i % 3 == 0:
            data["found_in_release"] = other
        defect_update(defect=d, by=user, data=data)

    # The edits change the figures now...
    now_values = _values(release, timezone.now())
    assert now_values["blocking_open_defects"] != before["blocking_open_defects"]
    assert now_values["defect_leakage"] != before["defect_leakage"]
    # ...and none as of yesterday, for the edited release and for the one the defects moved to.
    after = _values(release, yesterday)
    assert set(after) == set(RELEASE_KEYS + PROJECT_KEYS)
    for key in after:
        assert after[key] == before[key], key
    assert _values(other, yesterday) == before_other
    assert (
        defect_flow(release=release, start=yesterday - 10 * DAY, end=yesterday, by_severity=True)
        == flow_before
    )
    for key in series_keys:
        assert _series(client, release, key) == series_before[key], key


def test_found_in_release_moves_count_where_the_defect_was_at_t(project, release):
    other = f.ReleaseFactory(project=project, version="9.9.9", status="testing")
    d = defect(release, created=T0, severity="critical", env="production")
    services_time = T0 + 2 * DAY
    with mock.patch("django.utils.timezone.now", return_value=services_time):
        defect_update(defect=d, by=None, data={"found_in_release": other, "severity": "minor"})
    with mock.patch("django.utils.timezone.now", return_value=services_time + DAY):
        d.refresh_from_db()
        defect_update(defect=d, by=None, data={"found_in_environment": "test"})
    at_1 = T0 + DAY
    assert blocking_open_defects(release=release, as_of=at_1).value == 1
    assert blocking_open_defects(release=other, as_of=at_1).value == 0
    assert defect_arrivals_7d(release=release, as_of=at_1).value == 1
    assert defect_leakage(release=release, as_of=at_1).value == 100.0
    at_2 = services_time + HOUR
    assert open_defects(release=release, as_of=at_2).value == 0
    assert open_defects(release=other, as_of=at_2).value == 1
    assert blocking_open_defects(release=other, as_of=at_2).value == 0
    assert defect_leakage(release=other, as_of=at_2).value == 100.0
    assert defect_leakage(release=other, as_of=services_time + 2 * DAY).value == 0.0
