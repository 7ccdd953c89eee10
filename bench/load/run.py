"""Load benchmark: gunicorn + Celery on PostgreSQL with `seed_demo --scale 50`, 50 locust users for a few minutes.

    createdb -h 127.0.0.1 -U postgres qg_load
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qg_load REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/load/run.py                      # 50 users, 3 minutes, 5 gunicorn workers
    .venv/bin/python bench/load/run.py --users 20 --duration 1m --workers 3 --port 8060

Needs the `bench` extra (`pip install -e '.[bench]'`: locust). Steps, each skipped when already done:
migrate, `seed_demo --scale N --if-missing`, today's snapshots (the nightly job; `--backfill-days N` also runs
`backfill_metrics`), collectstatic. Then it prepares a plan (sessions and a token of the demo user `qa`, the defects each
simulated user owns, releases, gates, test identities), measures the query count and time of every page of the
mix with Django's test client, starts gunicorn (production settings: DEBUG off, whitenoise static files) and a
Celery worker with beat, waits for /healthz, runs locust headless against 127.0.0.1 only, and prints throughput,
p50/p95/p99 per endpoint, the error count and whether the target holds (zero errors, p95 of every page <= 10x
p95 of /healthz). Results land in bench/results/load/ (CSV from locust, summary.json, summary.md, server logs).
Never point it at a database you care about: it writes defect moves, test runs and gate evaluations.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
OUT = ROOT / "bench" / "results" / "load"
PAGE_PREFIX = "page: "


def main() -> int:
    args = parse_args()
    db_url = os.environ.get("DATABASE_URL", "")
    if not db_url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL database made for this benchmark (it writes to it).")
    db_name = urlparse(db_url).path.lstrip("/")
    if db_name in {"test", "postgres", "template0", "template1"}:
        sys.exit(f"Refusing to load-test the database {db_name!r}; create one for the benchmark.")
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("locust_*.csv"):
        old.unlink()
    env = server_env(args)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    static_existed = Path(settings.STATIC_ROOT).exists()
    try:
        return run(args, env)
    finally:
        remove_collected_static(static_existed)


def run(args, env: dict[str, str]) -> int:
    prepare_data(args)
    plan = make_plan(args)
    plan_file = OUT / "plan.json"
    plan_file.write_text(json.dumps(plan))
    queries = measure_queries(plan)
    print_queries(queries)
    procs = []
    usage = {}
    try:
        procs.append(start_worker(env))
        procs.append(start_gunicorn(args, env))
        wait_healthy(args.port)
        before = {name: cpu_seconds(proc) for name, proc in zip(("worker", "gunicorn"), procs, strict=True)}
        with LoadSampler() as load:
            run_locust(args, env, plan_file)
        usage = {
            f"{name}_cpu_s": round(cpu_seconds(proc) - before[name], 1)
            for name, proc in zip(("worker", "gunicorn"), procs, strict=True)
        }
        usage["machine_load_avg"] = load.mean()
    finally:
        for proc in reversed(procs):
            stop(proc)
        drop_sessions(plan)
    stats = read_stats(OUT / "locust_stats.csv")
    exceptions = sum(int(row["Count"]) for row in read_stats(OUT / "locust_exceptions.csv"))
    summary = summarize(args, stats, queries, exceptions)
    summary.update(usage)
    if summary["requests"]:
        summary["gunicorn_cpu_ms_per_request"] = round(
            1000 * usage["gunicorn_cpu_s"] / summary["requests"], 1
        )
    (OUT / "summary.json").write_text(json.dumps(summary, indent=2))
    (OUT / "summary.md").write_text(markdown(summary))
    print(markdown(summary))
    return 0 if summary["target_met"] else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=5.0, help="users started per second")
    parser.add_argument("--duration", default="3m", help="locust --run-time, e.g. 90s, 3m")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn workers (2 x cores + 1 on 2 cores)")
    parser.add_argument(
        "--threads", type=int, default=1, help="gunicorn threads per worker (gthread when > 1)"
    )
    parser.add_argument("--port", type=int, default=8055)
    parser.add_argument("--scale", type=int, default=50)
    parser.add_argument(
        "--backfill-days",
        type=int,
        default=0,
        help="also backfill N past days of snapshots (slow at scale 50: minutes per day)",
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed of the plan")
    parser.add_argument("--no-worker", action="store_true", help="do not start a Celery worker")
    return parser.parse_args()


def server_env(args) -> dict[str, str]:
    """Production settings on loopback HTTP: DEBUG off, whitenoise, persistent connections; no TLS redirect."""
    return {
        **os.environ,
        "DJANGO_ENV": "production",
        "DJANGO_SETTINGS_MODULE": "qualitygov.settings",
        "PYTHONPATH": str(ROOT),  # this checkout's code, also for gunicorn and Celery
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "False",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def prepare_data(args) -> None:
    import datetime as dt

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from metrics.models import MetricSnapshot
    from metrics.services import snapshot_all_active

    step("migrate")
    call_command("migrate", "--noinput", verbosity=0)
    step(f"seed_demo --scale {args.scale} --if-missing (about 4 minutes the first time at scale 50)")
    call_command("seed_demo", "--scale", str(args.scale), "--if-missing")
    # Fresh bulk-inserted tables have no planner statistics yet; without them the metric queries crawl.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    if args.backfill_days:
        step(f"backfill_metrics --days {args.backfill_days} --if-empty")
        call_command("backfill_metrics", "--days", str(args.backfill_days), "--if-empty", "--no-progress")
    if not MetricSnapshot.objects.filter(computed_at__gte=timezone.now() - dt.timedelta(hours=12)).exists():
        step("today's snapshots (the nightly job)")
        snapshot_all_active()
    step("collectstatic")
    call_command("collectstatic", "--noinput", verbosity=0)


def remove_collected_static(existed_before: bool) -> None:
    """Leave the checkout as found: with STATIC_ROOT present, whitenoise serves it directly, also to the tests."""
    from django.conf import settings

    if not existed_before:
        shutil.rmtree(settings.STATIC_ROOT, ignore_errors=True)


def make_plan(args) -> dict:
    """Everything the simulated users need, picked deterministically from the seeded data."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from defects.models import OPEN_STATUSES, Defect
    from gates.models import QualityGate
    from releases.models import ACTIVE_RELEASE_STATUSES, Membership, Project, Release
    from testing.models import TestCase

    rng = random.Random(args.seed)
    qa = get_user_model().objects.get(username="qa")
    projects = list(
        Project.objects.filter(memberships__user=qa).order_by("key").values_list("key", flat=True)
    )
    sessions = []
    for _ in range(args.users):
        client = Client()
        client.force_login(qa)
        sessions.append(client.cookies[settings.SESSION_COOKIE_NAME].value)
    open_ids = list(
        Defect.objects.filter(project__key__in=projects, status__in=OPEN_STATUSES, duplicate_of=None)
        .order_by("id")
        .values_list("id", flat=True)
    )
    owned_ids = rng.sample(open_ids, min(len(open_ids), args.users * 8))
    keys = {d.id: d.key for d in Defect.objects.filter(id__in=owned_ids).select_related("project")}
    owned = [[keys[i] for i in owned_ids[n :: args.users]] for n in range(args.users)]
    all_ids = list(Defect.objects.filter(project__key__in=projects).values_list("id", flat=True))
    sample = Defect.objects.filter(id__in=rng.sample(all_ids, min(len(all_ids), 500))).select_related(
        "project"
    )
    members = [
        set(Membership.objects.filter(project__key=key).values_list("user__username", flat=True))
        for key in projects
    ]
    releases = []
    for release in (
        Release.objects.filter(project__key__in=projects, status__in=ACTIVE_RELEASE_STATUSES)
        .order_by("id")
        .select_related("project")
    ):
        gates = list(
            QualityGate.objects.filter(project=release.project, is_active=True).values_list("id", flat=True)
        )
        releases.append({"id": release.id, "project": release.project.key, "gates": gates})
    identities = {}
    for key in projects:
        ids = list(
            TestCase.objects.filter(project__key=key)
            .exclude(identity="")
            .values_list("identity", flat=True)[:2000]
        )
        identities[key] = rng.sample(ids, min(len(ids), 300))
    return {
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "sessions": sessions,
        "token": Token.objects.get_or_create(user=qa)[0].key,
        "projects": projects,
        "defects_per_user": owned,
        "defect_keys": [d.key for d in sample],
        "assignees": sorted(set.intersection(*members)),
        "releases": releases,
        "test_identities": identities,
    }


def drop_sessions(plan: dict) -> None:
    from django.contrib.sessions.models import Session

    Session.objects.filter(session_key__in=plan["sessions"]).delete()


def page_urls(plan: dict) -> dict[str, str]:
    """One representative URL per page of the mix (the same shapes locust requests)."""
    project = plan["projects"][0]
    release = plan["releases"][0]["id"]
    return {
        "triage board": f"/defects/?project={project}&status=open&severity=blocker,critical",
        "defect detail": f"/defects/{plan['defect_keys'][0]}/",
        "release dashboard": f"/releases/{release}/dashboard/",
        "project dashboard": f"/projects/{project}/dashboard/",
        "portfolio": "/dashboards/",
        "gates": f"/gates/?project={project}",
        "release gates": f"/releases/{release}/gates/",
        "/healthz": "/healthz",
    }


def measure_queries(plan: dict) -> dict[str, dict]:
    """Queries and time (best of 3) per page, through the test client as user `qa` against the same data."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    step("query count per page (Django test client)")
    client = Client()
    client.force_login(get_user_model().objects.get(username="qa"))
    result = {}
    for name, url in page_urls(plan).items():
        counts, times = [], []
        for _ in range(3):
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            counts.append(len(ctx.captured_queries))
        result[name] = {"url": url, "queries": counts[-1], "best_ms": round(min(times) * 1000, 1)}
    client.logout()
    return result


def print_queries(queries: dict) -> None:
    for name, row in queries.items():
        print(f"    {name:<20} {row['queries']:>3} queries  {row['best_ms']:>7} ms  {row['url']}")


def cpu_seconds(proc: subprocess.Popen | None) -> float:
    """User + system CPU time of a process and its live children (gunicorn's workers, Celery's pool)."""
    if proc is None:
        return 0.0
    import psutil  # a dependency of locust

    total = 0.0
    try:
        root = psutil.Process(proc.pid)
        for p in [root, *root.children(recursive=True)]:
            times = p.cpu_times()
            total += times.user + times.system
    except psutil.Error:
        pass
    return total


class LoadSampler:
    """The machine's 1-minute load average every 10 s while the traffic runs: how busy the box was overall
    (the benchmark shares it with PostgreSQL, Redis, locust itself and anything else running)."""

    def __enter__(self):
        import threading

        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(10):
            self.samples.append(os.getloadavg()[0])

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def mean(self) -> float | None:
        return round(statistics.mean(self.samples), 1) if self.samples else None


def start_worker(env: dict) -> subprocess.Popen | None:
    if not env.get("REDIS_URL"):
        step("no REDIS_URL: recomputes run inside the requests (eager), no worker started")
        return None
    step("Celery worker with beat (concurrency 1)")
    log = open(OUT / "worker.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [
            str(VENV_BIN / "celery"), "-A", "qualitygov", "worker", "-B", "--concurrency", "1", "-l", "warning",
            "--schedule", str(OUT / "celerybeat-schedule"),
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def start_gunicorn(args, env: dict) -> subprocess.Popen:
    step(f"gunicorn on 127.0.0.1:{args.port}, {args.workers} workers x {args.threads} threads")
    log = open(OUT / "gunicorn.log", "w")  # noqa: SIM115 - closed with the process
    command = [
        str(VENV_BIN / "gunicorn"), "qualitygov.wsgi:application", "--bind", f"127.0.0.1:{args.port}",
        "--workers", str(args.workers), "--threads", str(args.threads), "--timeout", "120",
        "--error-logfile", "-",
    ]  # fmt: skip
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_healthy(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"gunicorn did not answer /healthz within {timeout:.0f} s; see {OUT / 'gunicorn.log'}")


def run_locust(args, env: dict, plan_file: Path) -> None:
    step(f"locust: {args.users} users for {args.duration}")
    subprocess.run(
        [
            str(VENV_BIN / "locust"), "-f", str(Path(__file__).with_name("locustfile.py")), "--headless",
            "--users", str(args.users), "--spawn-rate", str(args.spawn_rate), "--run-time", args.duration,
            "--host", f"http://127.0.0.1:{args.port}", "--csv", str(OUT / "locust"), "--only-summary",
            "--stop-timeout", "30", "--exit-code-on-error", "0",
        ],
        cwd=ROOT, env={**env, "QG_LOAD_PLAN": str(plan_file)}, check=True, timeout=24 * 3600,
    )  # fmt: skip


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def read_stats(path: Path) -> list[dict]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def summarize(args, stats: list[dict], queries: dict, exceptions: int) -> dict:
    """Per-endpoint figures and the verdict; exceptions inside the simulated users count as errors too."""
    rows = []
    for row in stats:
        rows.append(
            {
                "name": row["Name"],
                "method": row["Type"],
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": round(float(row["Requests/s"]), 2),
                "p50": float(row["50%"]),
                "p95": float(row["95%"]),
                "p99": float(row["99%"]),
            }
        )
    by_name = {r["name"]: r for r in rows}
    total = by_name.pop("Aggregated")
    health = by_name["/healthz"]
    pages = [r for r in rows if r["name"].startswith(PAGE_PREFIX)]
    limit = 10 * health["p95"]
    slow = [r["name"] for r in pages if r["p95"] > limit]
    return {
        "machine": machine(),
        "users": args.users,
        "duration": args.duration,
        "gunicorn": f"{args.workers} workers x {args.threads} threads",
        "requests": total["requests"],
        "errors": total["failures"] + exceptions,
        "client_exceptions": exceptions,
        "throughput_rps": total["rps"],
        "healthz_p95_ms": health["p95"],
        "page_p95_limit_ms": limit,
        "pages_over_limit": slow,
        "target_met": total["failures"] + exceptions == 0 and not slow,
        "endpoints": [r for r in rows if r["name"] != "Aggregated"],
        "queries": queries,
        "median_page_p95_ms": statistics.median(r["p95"] for r in pages) if pages else None,
    }


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu})"


def markdown(summary: dict) -> str:
    lines = [
        f"{summary['users']} users, {summary['duration']}, gunicorn {summary['gunicorn']}, {summary['machine']}",
        f"{summary['requests']} requests, {summary['throughput_rps']} req/s, {summary['errors']} errors; "
        f"/healthz p95 {summary['healthz_p95_ms']:.0f} ms, page limit {summary['page_p95_limit_ms']:.0f} ms; "
        f"target {'met' if summary['target_met'] else 'MISSED: ' + ', '.join(summary['pages_over_limit'])}",
        f"gunicorn CPU {summary.get('gunicorn_cpu_s')} s ({summary.get('gunicorn_cpu_ms_per_request')} ms per "
        f"request), Celery worker CPU {summary.get('worker_cpu_s')} s, machine load average "
        f"{summary.get('machine_load_avg')} on {os.cpu_count()} cores",
        "",
        "| endpoint | requests | errors | req/s | p50 ms | p95 ms | p99 ms | queries |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(summary["endpoints"], key=lambda r: r["name"]):
        name = r["name"].removeprefix(PAGE_PREFIX)
        q = summary["queries"].get(name, {}).get("queries", "")
        lines.append(
            f"| {r['method']} {r['name']} | {r['requests']} | {r['failures']} | {r['rps']} | "
            f"{r['p50']:.0f} | {r['p95']:.0f} | {r['p99']:.0f} | {q} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
