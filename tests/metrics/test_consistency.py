"""The same release at the same moment shows the same value everywhere (issue 14, "Done when").

The demo data is seeded exactly as `make run` does (seed_demo --if-missing, backfill_metrics --days 30 --if-empty,
evaluate_gates --if-never); then, for every active release, the dashboard's figures, the release page's card, the
default metrics API, the gate evaluation values and a fresh computation as of the same instant all agree.
"""

import datetime as dt
import io
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.core.management import call_command

from dashboards import selectors as dashboards
from dashboards.templatetags.dashboard_tags import release_summary
from gates.models import GateEvaluation
from metrics import services
from metrics.registry import MEASURE_KEYS, PROJECT_KEYS, RELEASE_KEYS
from releases.models import ACTIVE_RELEASE_STATUSES, Release
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _viewer_of(project, name: str):
    """A viewer of the project (the `make_member` fixture would create a PAY project before the demo seeds it)."""
    user = UserFactory(username=name)
    MembershipFactory(project=project, user=user, role="viewer")
    return user


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) <= 0.01


def test_every_page_and_the_api_agree_after_make_run(api_client_for):
    for args in (
        ("seed_demo", "--if-missing"),
        ("backfill_metrics", "--days", "30", "--if-empty", "--no-progress"),
        ("evaluate_gates", "--if-never", "--no-progress"),
    ):
        call_command(*args, stdout=io.StringIO(), stderr=io.StringIO())
    releases = list(Release.objects.filter(status__in=ACTIVE_RELEASE_STATUSES).select_related("project"))
    assert len(releases) >= 3
    checked_gates = 0
    for release in releases:
        client = api_client_for(_viewer_of(release.project, f"v{release.pk}"))
        board = dashboards.release_dashboard(release=release)
        as_of = board["as_of"]
        assert as_of is not None and not board["updating"]
        # make run leaves a current snapshot, taken after the backfill's last day (yesterday's end).
        assert as_of > services.backfill_days(days=1)[0]
        assert not hasattr(board["risk"], "source"), "a stored snapshot, not a fresh computation"
        fresh = services.compute_for_release(release=release, keys=RELEASE_KEYS + PROJECT_KEYS, as_of=as_of)
        api = {r["key"]: r for r in client.get(f"/api/v1/releases/{release.pk}/metrics/").json()}
        card = {t["key"]: t["value"] for t in release_summary(release)["tiles"]}
        for t in board["tiles"]:
            assert _close(t["value"], fresh[t["key"]].value), (release, t["key"], t["value"], fresh[t["key"]])
        assert _close(board["risk"].value, fresh["release_risk_score"].value)
        for key in RELEASE_KEYS:
            assert dt.datetime.fromisoformat(api[key]["as_of"]) == as_of, key
            assert _close(api[key]["value"], fresh[key].value), (release, key)
        for key, value in card.items():
            assert _close(value, fresh[key].value), (release, key)
        for evaluation in GateEvaluation.objects.filter(release=release):
            at = services.compute_for_release(
                release=release,
                keys=[c["metric"] for c in evaluation.conditions if c["metric"] in fresh],
                as_of=evaluation.created_at,
            )
            for c in evaluation.conditions:
                if c["metric"] in at:
                    assert _close(c["value"], at[c["metric"]].value), (release, c["metric"])
                    # Nothing changed between the evaluation and the snapshot: the same figure.
                    assert _close(at[c["metric"]].value, fresh[c["metric"]].value), (release, c["metric"])
                    checked_gates += 1
    assert checked_gates > 0


def _ratio(num: int, den: int):
    return round(100.0 * num / den, 2) if den else None


def test_every_drilldown_lists_exactly_what_the_metric_counts(api_client_for):
    call_command("seed_demo", "--if-missing", stdout=io.StringIO(), stderr=io.StringIO())
    releases = list(Release.objects.filter(status__in=ACTIVE_RELEASE_STATUSES).select_related("project"))
    followed = 0
    for release in releases:
        client = api_client_for(_viewer_of(release.project, f"d{release.pk}"))
        rows = {r["key"]: r for r in client.get(f"/api/v1/releases/{release.pk}/metrics/").json()}
        for key in RELEASE_KEYS:
            row = rows[key]
            assert row["drilldown"], key
            answer = client.get(row["drilldown"])
            assert answer.status_code == 200, (key, answer.content)
            body = answer.json()
            if key == "release_risk_score":
                assert {r["key"]: r["value"] for r in body} == {k: rows[k]["value"] for k in rows}
                continue
            if key in MEASURE_KEYS:  # a measure's value is the latest upload: the release's measures list
                assert "/measures/" in row["drilldown"]
                continue
            assert dt.datetime.fromisoformat(body["as_of"]) == dt.datetime.fromisoformat(row["as_of"])
            assert body["value"] == row["value"], key
            parts = body["parts"]
            for part in parts.values():
                assert len(part["items"]) == part["count"] and not part["truncated"]
            if "value" in parts:  # count metrics
                assert parts["value"]["count"] == row["value"], (release, key)
            elif key == "defect_net_flow_7d":
                assert parts["arrivals"]["count"] - parts["closures"]["count"] == row["value"]
            elif key == "defect_mttr_hours":
                assert parts["sample"]["count"] == row["n"], (release, key)
            else:
                num, den = parts["numerator"]["count"], parts["denominator"]["count"]
                assert _ratio(num, den) == row["value"], (release, key, num, den)
                assert den == row["n"], (release, key)
                numerator_ids = {i["id"] for i in parts["numerator"]["items"]}
                assert numerator_ids <= {i["id"] for i in parts["denominator"]["items"]}
            followed += 1
    assert followed >= 12 * len(releases)
    assert client.get(f"/api/v1/releases/{releases[-1].pk}/metrics/nope/items/").status_code == 400


def _defect_ids(client, **params) -> list[int]:
    ids, url = [], "/api/v1/defects/?" + urlencode({**params, "page_size": 500})
    while url:
        body = client.get(url).json()
        ids += [d["id"] for d in body["results"]]
        url = body["next"]
    return ids


def test_every_tile_opens_a_list_that_counts_what_the_tile_counts(api_client_for):
    # given the demo data as `make run` seeds it
    call_command("seed_demo", "--if-missing", stdout=io.StringIO(), stderr=io.StringIO())
    releases = list(Release.objects.filter(status__in=ACTIVE_RELEASE_STATUSES).select_related("project"))
    seen = {"open": 0, "opened": 0, "closed": 0}
    for release in releases:
        client = api_client_for(_viewer_of(release.project, f"t{release.pk}"))
        data = dashboards.release_dashboard(release=release)
        tiles = {t["key"]: t for t in data["tiles"]}
        as_of = data["as_of"]
        items = {
            key: client.get(
                f"/api/v1/releases/{release.pk}/metrics/{key}/items/?{urlencode({'as_of': as_of.isoformat()})}"
            ).json()
            for key in ("defect_net_flow_7d", "open_defects", "blocking_open_defects")
        }
        # when each tile's list is read over the API with the tile's filters (release, state, window, as of T)
        for key in ("open_defects", "blocking_open_defects"):
            query = dict(parse_qsl(urlsplit(tiles[key]["url"]).query))
            assert query["as_of"] == as_of.isoformat()
            ids = _defect_ids(client, **query)
            # then the count metrics list exactly their items
            assert len(ids) == tiles[key]["value"], (release, key)
            assert sorted(ids) == sorted(i["id"] for i in items[key]["parts"]["value"]["items"])
        flow = tiles["defect_net_flow_7d"]
        links = dict(flow["links"])
        opened = _defect_ids(client, **dict(parse_qsl(urlsplit(links["opened"]).query)))
        closed = _defect_ids(client, **dict(parse_qsl(urlsplit(links["closed"]).query)))
        parts = items["defect_net_flow_7d"]["parts"]
        assert sorted(opened) == sorted(i["id"] for i in parts["arrivals"]["items"]), release
        assert sorted(closed) == sorted({i["defect_id"] for i in parts["closures"]["items"]}), release
        assert len(opened) - parts["closures"]["count"] == flow["value"], release
        seen["open"] += tiles["open_defects"]["value"]
        seen["opened"] += len(opened)
        seen["closed"] += len(closed)
        # every other tile but the score opens the page of its items with the same T, or the traceability matrix
        for key, t in tiles.items():
            if key in ("release_risk_score", "open_defects", "blocking_open_defects"):
                continue
            if key in ("requirement_coverage", "verified_requirements"):
                assert t["url"].startswith(f"/releases/{release.pk}/traceability/?gap="), key
            else:
                assert (
                    t["url"]
                    == f"/releases/{release.pk}/metrics/{key}/?{urlencode({'as_of': as_of.isoformat()})}"
                )
    # and the demo gives every kind of list something to count
    assert all(seen.values()), seen
