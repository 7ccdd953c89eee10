"""Duplicate finder benchmark: recall@1/5/10 on labelled Hadoop duplicates, latency at 2.5k and 100k defects.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qg_bench nice -n 10 .venv/bin/python bench/duplicates_recall.py
    nice -n 10 .venv/bin/python bench/duplicates_recall.py --rows 20000        # SQLite fallback (embedded mode)
    ... --keepdb      # keep the test database (test_<name>) and reuse its data on the next run

It builds a throw-away test database (test_<name>), imports `hadoop_bugs.csv` with the real Jira importer and
asks the finder (`defects.selectors.defect_similar_to`, what the defect page and the API call) for the top 10
of each labelled duplicate (bench/data/hadoop_duplicates.json, built by bench/duplicates_labels.py; a query
is a hit at k when any of its originals is among the first k).

Then the project is padded to --rows defects with synthetic distractors, loaded with one COPY on PostgreSQL
(bulk inserts elsewhere): titles and descriptions drawn word by word from the Hadoop bugs' own vocabulary and
frequencies, so term statistics stay realistic while no distractor copies a real bug. Recall and latency are
measured again. Latency is per call (every query of one request, word-statistics cache warm), for
the labelled queries, 100 random real bugs (the defect page) and 100 title prefixes as typed in the create
form (the as-you-type suggestions); for the defect page also the finder process's CPU time and, on PostgreSQL,
the server's own time of the call's statements (EXPLAIN ANALYZE), which a busy machine does not inflate as
much as the wall clock.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import statistics
import string
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualitygov.settings.test")

DEFAULT_CSV = ROOT.parent / "shared" / "datasets" / "defects" / "gitbugs" / "hadoop_bugs.csv"
LABELS_FILE = ROOT / "bench" / "data" / "hadoop_duplicates.json"
KS = (1, 5, 10)


def load_labels() -> dict[str, set[str]]:
    queries = json.loads(LABELS_FILE.read_text(encoding="utf-8"))["queries"]
    return {dup: {o["original"] for o in originals} for dup, originals in queries.items()}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timing(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(percentile(values, 0.95), 1),
        "max_ms": round(max(values), 1),
    }


def measure_recall(labels, by_ext) -> tuple[dict[str, float], list[float]]:
    from defects.selectors import defect_similar_to

    hits = dict.fromkeys(KS, 0)
    reciprocal, latencies = 0.0, []
    for dup_id, originals in labels.items():
        started = time.perf_counter()
        found = defect_similar_to(defect=by_ext[dup_id], limit=max(KS))
        latencies.append((time.perf_counter() - started) * 1000)
        ranked = [s.defect.external_id for s in found]
        ranks = [i for i, ext in enumerate(ranked) if ext in originals]
        for k in KS:
            hits[k] += bool(ranks and ranks[0] < k)
        if ranks:
            reciprocal += 1 / (ranks[0] + 1)
    result = {f"recall@{k}": round(hits[k] / len(labels), 3) for k in KS}
    result["mrr"] = round(reciprocal / len(labels), 3)
    result["hits@5"] = f"{hits[5]}/{len(labels)}"
    return result, latencies


def measure_latency(project, probes) -> dict[str, dict[str, float]]:
    from defects.selectors import defect_similar_list, defect_similar_to

    page, typed, cpu = [], [], []
    for defect in probes:
        started, cpu_started = time.perf_counter(), time.process_time()
        defect_similar_to(defect=defect, limit=5)
        page.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
        words = defect.title.split()
        prefix = " ".join(words[: max(2, len(words) * 2 // 3)])
        started = time.perf_counter()
        defect_similar_list(project_id=project.pk, title=prefix, description="", limit=5)
        typed.append((time.perf_counter() - started) * 1000)
    # cpu: the Python process's own CPU time per defect-page call (the database's work is not in it); on a
    # shared machine it tells the finder's Python cost apart from waiting for a core.
    result = {
        "defect_page": timing(page),
        "create_form_typing": timing(typed),
        "defect_page_python_cpu": timing(cpu),
    }
    from django.db import connection

    if connection.vendor == "postgresql":
        result["defect_page_database"] = timing([database_time(defect) for defect in probes])
    return result


def database_time(defect) -> float:
    """The server's own time (planning + execution, EXPLAIN ANALYZE) of every statement of one defect-page call.

    The statements are recorded during a call, then run again under EXPLAIN ANALYZE: the figure leaves out the
    network, the Python side and the wait for a core between statements.
    """
    from django.db import connection

    from defects.selectors import defect_similar_to

    statements = []

    def record(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        defect_similar_to(defect=defect, limit=5)
    total = 0.0
    with connection.cursor() as cursor:
        for sql, params in statements:
            if not sql.lstrip().upper().startswith(("SELECT", "(SELECT")):
                cursor.execute(sql, params)  # session settings the statements rely on
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0][0]
            total += plan["Planning Time"] + plan["Execution Time"]
    return total


def synthetic_rows(project, count: int, start: int, padding: str, seed: int = 7):
    """Distractor defects: words drawn from the real bugs' titles and descriptions, with their frequencies.

    padding "copied": every word as drawn, so a word found in 2 of the 2,503 real bugs turns up in about 80
    distractors at 100k (hostile: a test class or a CVE id of a real bug is pasted into dozens of unrelated
    defects). padding "fresh": words found in at most 3 real bugs are replaced by made-up words of the same
    length, so rare identifiers stay rare as they do when a real project grows (new defects bring their own
    class names and ids), while the common words keep their frequencies.
    """
    from defects.models import Defect

    source = list(
        Defect.objects.filter(project=project).exclude(external_id="").values_list("title", "description")
    )
    title_words = [w for t, _ in source for w in t.split()]
    desc_words = [w for _, d in source for w in d[:2000].split()]
    title_lengths = [len(t.split()) for t, _ in source]
    desc_lengths = [min(len(d.split()), 300) for _, d in source]
    rng = random.Random(seed)
    rare: set[str] = set()
    if padding == "fresh":
        df = Counter(w.lower() for t, d in source for w in set(t.split()) | set(d[:2000].split()))
        rare = {w for w, n in df.items() if n <= 3}

    def pick(pool: list[str], k: int) -> str:
        drawn = rng.choices(pool, k=k)
        if rare:
            drawn = [
                "".join(rng.choice(string.ascii_lowercase) for _ in w) if w.lower() in rare else w
                for w in drawn
            ]
        return " ".join(drawn)

    for number in range(start + 1, start + count + 1):
        title = pick(title_words, rng.choice(title_lengths))[:300]
        description = pick(desc_words, rng.choice(desc_lengths))
        yield number, title, description


def pad(project, rows: int, padding: str) -> int:
    """Add synthetic defects until the project holds `rows`; returns how many were added."""
    from django.db import connection
    from django.utils import timezone

    from defects.models import Defect

    existing = Defect.objects.filter(project=project).count()
    start = (
        Defect.objects.filter(project=project).order_by("-number").values_list("number", flat=True).first()
    )
    count = max(rows - existing, 0)
    if not count:
        return 0
    now = timezone.now()
    generated = synthetic_rows(project, count, start or 0, padding)
    if connection.vendor == "postgresql":
        columns = (
            "project_id, number, key, external_id, title, description, severity, priority, component, status, "
            "resolution, found_in_environment, created_at, updated_at, version"
        )
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)  # quoted "" is an empty string, not NULL
        for number, title, description in generated:
            writer.writerow(
                (project.pk, number, f"{project.key}-{number}", "", title, description, "major", "medium", "",
                 "new", "", "test", now.isoformat(), now.isoformat(), 1)
            )  # fmt: skip
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.copy_expert(f"COPY defects_defect ({columns}) FROM STDIN WITH (FORMAT csv)", buffer)
            cursor.execute("ANALYZE defects_defect")
    else:
        batch = []
        for number, title, description in generated:
            batch.append(
                Defect(project=project, number=number, key=f"{project.key}-{number}", title=title,
                       description=description, created_at=now)
            )  # fmt: skip
            if len(batch) == 5000:
                Defect.objects.bulk_create(batch)
                batch = []
        Defect.objects.bulk_create(batch)
    return count


def report_line(label: str, total: int, recall: dict, latency: dict) -> str:
    def fmt(t):
        return f"{t['p50_ms']}/{t['p95_ms']}/{t['max_ms']} ms"

    return (
        f"{label}, {total} defects: recall@1 {recall['recall@1']:.2f}, @5 {recall['recall@5']:.2f} "
        f"({recall['hits@5']}), @10 {recall['recall@10']:.2f}, MRR {recall['mrr']:.2f}\n"
        f"  p50/p95/max: labelled {fmt(latency['labelled'])}; defect page {fmt(latency['defect_page'])}; "
        f"create form typing {fmt(latency['create_form_typing'])}; "
        f"Python CPU per page call {fmt(latency['defect_page_python_cpu'])}; "
        + (
            f"database per page call {fmt(latency['defect_page_database'])}; "
            if "defect_page_database" in latency
            else ""
        )
        + f"load average {latency['load_before']:.1f} before, {os.getloadavg()[0]:.1f} after"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", default=str(DEFAULT_CSV))
    parser.add_argument("--rows", type=int, default=100_000, help="defects in the project for the second run")
    parser.add_argument(
        "--padding", choices=("copied", "fresh"), default="copied", help="how distractors get rare words"
    )
    parser.add_argument("--keepdb", action="store_true", help="keep and reuse the test database")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    csv_path = Path(args.csv)
    if not csv_path.exists():
        print(f"Dataset not found: {csv_path}")
        return 2

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    import metrics.services
    from defects.duplicates import word_stats_forget
    from defects.jira_import import import_jira_csv
    from defects.models import Defect
    from releases.models import Project

    # Metric recomputes are not what is measured here (they would run in-process after the import).
    metrics.services.schedule_recompute = lambda **kwargs: None
    labels = load_labels()
    old = setup_databases(verbosity=0, interactive=False, keepdb=args.keepdb, serialized_aliases=[])
    results = {
        "database": connection.vendor,
        "labelled_queries": len(labels),
        "padding": args.padding,
        "runs": [],
    }
    try:
        print(
            f"Database: {connection.vendor} ({connection.settings_dict['NAME']}), {len(labels)} labelled queries"
        )
        project = Project.objects.filter(key="HADOOP").first()
        if project is None:
            project = Project.objects.create(key="HADOOP", name="Apache Hadoop")
            started = time.perf_counter()
            report = import_jira_csv(project=project, text=csv_path.read_text(encoding="utf-8"), by=None)
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE defects_defect")
            print(f"Import: {report.created} defects in {time.perf_counter() - started:.1f} s")
        real = Defect.objects.filter(project=project).exclude(external_id="")
        by_ext = {d.external_id: d for d in real}
        missing = [i for i in labels if i not in by_ext] + [
            o for s in labels.values() for o in s if o not in by_ext
        ]
        if missing:
            print(f"Labelled ids missing from the file: {missing}")
            return 2
        probes = random.Random(11).sample(sorted(by_ext.values(), key=lambda d: d.pk), 100)
        sizes = [len(by_ext), args.rows] if args.rows > len(by_ext) else [len(by_ext)]
        for size in sizes:
            if Defect.objects.filter(project=project).count() > size:
                print(f"(skipping {size}: the kept database already holds more defects)")
                continue
            started = time.perf_counter()
            added = pad(project, size, args.padding)
            if added:
                print(f"Padded with {added} synthetic defects in {time.perf_counter() - started:.1f} s")
            word_stats_forget(project_id=project.pk)
            total = Defect.objects.filter(project=project).count()
            measure_recall(labels, by_ext)  # warm: word sample cached, plans and pages in memory
            load_before = os.getloadavg()[0]
            recall, labelled = measure_recall(labels, by_ext)
            latency = {
                "labelled": timing(labelled),
                **measure_latency(project, probes),
                "load_before": load_before,
            }
            print(report_line(connection.vendor, total, recall, latency))
            results["runs"].append({"defects": total, **recall, "latency": latency})
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    finally:
        if not args.keepdb:
            teardown_databases(old, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
