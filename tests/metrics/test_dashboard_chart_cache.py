"""The dashboards' charts are cached while the scope's snapshots are unchanged (found by the load benchmark:
building the Plotly figures and the defect flow was most of a dashboard's time), rebuilt after a recompute, and
built uncached when the cache is down."""

import datetime as dt
import json
import re

import pytest
import redis
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from metrics import services
from tests import factories as f

pytestmark = pytest.mark.django_db
# No cache.clear(): the keys hold the snapshots' computation time, new in every test (and clearing would empty the
# Redis database the suite shares with Celery).


def flow_opened(body: str) -> int:
    """Total of the 'Opened' bars of the release dashboard's flow chart."""
    match = re.search(
        r'<script type="application/json" data-plotly-target="chart-flow">(.*?)</script>', body, re.S
    )
    assert match, "flow chart JSON not found"
    figure = json.loads(match.group(1))
    opened = next(t for t in figure["data"] if t.get("name") == "Opened")
    return sum(v for v in opened["y"] if v)


def get(client, url: str) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), len(ctx.captured_queries)


def test_release_charts_come_from_the_cache_until_the_next_recompute(client, release, viewer):
    now = timezone.now()
    for day in range(3):
        f.DefectFactory(
            project=release.project, found_in_release=release, created_at=now - dt.timedelta(days=day)
        )
    services.snapshot_release(release=release)
    services.snapshot_project(project=release.project)
    client.force_login(viewer)
    url = f"/releases/{release.pk}/dashboard/"

    first, cold_queries = get(client, url)
    second, warm_queries = get(client, url)
    assert flow_opened(first) == flow_opened(second) == 3
    # the flow, run and series queries are skipped on a warm cache
    assert warm_queries < cold_queries

    # a new defect without a recompute: the charts still show the data as of the last snapshots, like the tiles
    f.DefectFactory(project=release.project, found_in_release=release, created_at=now)
    stale, _ = get(client, url)
    assert flow_opened(stale) == 3
    # the recompute an event schedules writes new snapshots: the charts are rebuilt
    services.snapshot_release(release=release)
    fresh, _ = get(client, url)
    assert flow_opened(fresh) == 4


def test_project_charts_are_cached_and_rebuilt_after_a_recompute(client, release, viewer):
    services.snapshot_release(release=release)
    services.snapshot_project(project=release.project)
    client.force_login(viewer)
    url = f"/projects/{release.project.key}/dashboard/"
    _, cold_queries = get(client, url)
    _, warm_queries = get(client, url)
    assert warm_queries < cold_queries
    services.snapshot_project(project=release.project)
    _, after_recompute = get(client, url)
    assert after_recompute == cold_queries


def test_dashboards_work_when_the_cache_is_down(client, release, settings, viewer):
    # the production cache backend, pointed at a port where no Redis listens
    settings.CACHES = {
        "default": {
            "BACKEND": "qualitygov.resilience.FailSoftRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    with pytest.raises(redis.exceptions.ConnectionError):
        cache._cache.get_client().ping()  # really down: the backend's own client cannot reach it
    f.DefectFactory(project=release.project, found_in_release=release)
    client.force_login(viewer)
    body, _ = get(client, f"/releases/{release.pk}/dashboard/")
    assert flow_opened(body) == 1
    get(client, f"/projects/{release.project.key}/dashboard/")
