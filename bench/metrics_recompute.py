"""Metric recompute benchmark: time to compute every metric of a release on seed_demo data at two scales.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qg_bench_metrics .venv/bin/python bench/metrics_recompute.py
    .venv/bin/python bench/metrics_recompute.py --scales 1 5          # quicker, or on SQLite

It builds a throw-away test database (test_<name>, destroyed at the end), seeds the demo portfolio with
`seed_demo --scale N` for each scale, runs ANALYZE, then for every active release times a full recompute of all
release metrics (risk score included) plus its project's metrics, exactly what the recompute task does, minus the
snapshot writes. Each release is computed three times; the median is kept. It reports the data volume and the
times per scale, and how the time grew compared with the data.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualitygov.settings.test")


def _measure(repeats: int) -> dict:
    from django.db import connection
    from django.utils import timezone

    from defects.models import Defect, DefectTransition
    from metrics.project_metrics import project_metrics
    from metrics.services import compute_release_scope
    from releases.models import ACTIVE_RELEASE_STATUSES, Release
    from testing.models import TestResult

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    releases = list(Release.objects.filter(status__in=ACTIVE_RELEASE_STATUSES).select_related("project"))
    per_release = []
    for release in releases:
        runs = []
        for _ in range(repeats):
            now = timezone.now()
            started = time.perf_counter()
            compute_release_scope(release=release, as_of=now)
            project_metrics(project=release.project, as_of=now)
            runs.append(time.perf_counter() - started)
        per_release.append(statistics.median(runs))
    biggest = max(releases, key=lambda r: Defect.objects.filter(found_in_release=r).count())
    from metrics.release_metrics import RELEASE_METRIC_FUNCTIONS

    per_metric = {}
    for key, fn in RELEASE_METRIC_FUNCTIONS.items():
        started = time.perf_counter()
        fn(release=biggest, as_of=timezone.now())
        per_metric[key] = time.perf_counter() - started
    started = time.perf_counter()
    project_metrics(project=biggest.project, as_of=timezone.now())
    per_metric["project metrics"] = time.perf_counter() - started
    pages = _pages(biggest)
    return {
        "pages": pages,
        "per_metric": per_metric,
        "releases": len(releases),
        "defects": Defect.objects.count(),
        "transitions": DefectTransition.objects.count(),
        "results": TestResult.objects.count(),
        "biggest_release_defects": Defect.objects.filter(found_in_release=biggest).count(),
        "biggest_release_results": TestResult.objects.filter(release=biggest).count(),
        "median_s": statistics.median(per_release),
        "max_s": max(per_release),
        "total_s": sum(per_release),
    }


def _pages(release) -> dict[str, tuple[float, int]]:
    """Render time (median of 3, snapshots present) and query count of the three dashboards."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from metrics.services import snapshot_all_active

    snapshot_all_active()
    user, _ = get_user_model().objects.get_or_create(
        username="bench-superuser", defaults={"is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    out = {}
    for name, url in (
        ("release dashboard", f"/releases/{release.pk}/dashboard/"),
        ("project dashboard", f"/projects/{release.project.key}/dashboard/"),
        ("portfolio", "/dashboards/"),
    ):
        times = []
        for _ in range(3):
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
        out[name] = (statistics.median(times), len(ctx.captured_queries))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", type=int, nargs="+", default=[5, 50])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    import metrics.services

    # Seeding must not trigger in-process recomputes: only the timed recompute below is measured.
    metrics.services.schedule_recompute = lambda **kwargs: None
    old = setup_databases(verbosity=0, interactive=False)
    rows = []
    try:
        print(f"Database: {connection.vendor} ({connection.settings_dict['NAME']})")
        for scale in args.scales:
            started = time.perf_counter()
            with open(os.devnull, "w") as quiet, contextlib.redirect_stderr(quiet):
                call_command("seed_demo", "--reset", "--scale", str(scale), stdout=quiet)
            seeded = time.perf_counter() - started
            row = {"scale": scale, **_measure(args.repeats)}
            rows.append(row)
            print(
                f"scale {scale:>3}: seeded in {seeded:.0f} s; {row['defects']} defects, {row['transitions']} "
                f"transitions, {row['results']} test results, {row['releases']} active releases "
                f"(largest: {row['biggest_release_defects']} defects, {row['biggest_release_results']} results)"
            )
            print(
                f"           recompute of one release + its project: median {row['median_s'] * 1000:.0f} ms, "
                f"max {row['max_s'] * 1000:.0f} ms; all active releases {row['total_s']:.2f} s"
            )
            print(
                "           pages (snapshots present): "
                + ", ".join(f"{k} {t * 1000:.0f} ms / {q} queries" for k, (t, q) in row["pages"].items())
            )
            slowest = sorted(row["per_metric"].items(), key=lambda kv: -kv[1])[:5]
            print(
                "           slowest parts (largest release): "
                + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in slowest)
            )
        if len(rows) >= 2:
            first, last = rows[0], rows[-1]
            data_growth = (last["defects"] + last["transitions"] + last["results"]) / max(
                1, first["defects"] + first["transitions"] + first["results"]
            )
            time_growth = last["max_s"] / first["max_s"]
            print(
                f"growth scale {first['scale']} -> {last['scale']}: data x{data_growth:.1f}, "
                f"slowest release recompute x{time_growth:.1f}, median x{last['median_s'] / first['median_s']:.1f}"
                f" ({'no faster than the data' if time_growth <= data_growth else 'FASTER than the data'})"
            )
    finally:
        teardown_databases(old, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
