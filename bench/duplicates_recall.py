"""Duplicate finder benchmark: recall@5 on real Hadoop bugs, and query latency with 100,000 defects.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qg_bench .venv/bin/python bench/duplicates_recall.py
    .venv/bin/python bench/duplicates_recall.py --rows 100000          # SQLite fallback

It builds a throw-away test database (test_<name>, destroyed at the end), imports the Hadoop CSV with the
real importer, and asks `defects.duplicates.similar_to_defect` for the top 5 of each labelled duplicate.

Labelled pairs (LABELS below). The CSV has no issue keys and no links, so "X duplicates Y" is not in the
data. We built the labels by hand: for every issue resolved as Duplicate we listed the other issues of the
file that share a rare identifier with it (a CVE id, or a code identifier / version string that occurs in at
most three summaries), read both, and kept the pairs that describe the same problem (the same dependency
upgrade for the same CVE, the same failing test, the same missing feature). 25 queries survive, out of
151 Duplicate-resolved issues; most duplicates in the file point at issues outside it. Because candidates
came from shared rare tokens, the labels favour lexical overlap, which a text finder also uses: treat the
figure as an upper bound for this kind of duplicate, not as recall on all duplicates.

Latency: the project is padded to --rows defects with synthetic distractors (words drawn from the Hadoop
bugs' own vocabulary and frequencies, see `_pad`), then each labelled query and 40 random bugs are timed
(median, p95, max), and recall@5 is measured again among the distractors.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualitygov.settings.test")

DEFAULT_CSV = ROOT.parent / "shared" / "datasets" / "defects" / "gitbugs" / "hadoop_bugs.csv"

# duplicate's Jira issue id -> issue ids judged to describe the same problem (see the module docstring).
LABELS: dict[str, set[str]] = {
    "13399825": {"13362199"},  # BouncyCastle upgrade for CVE-2020-15522 / 26939
    "13393040": {"13324279", "13418660"},  # log4j upgrade for its vulnerabilities
    "13339216": {"13338474"},  # TestLdapGroupsMapping failing
    "13580056": {"13556559", "13578868"},  # Kafka 3.4.0 for CVE-2023-25194
    "13578868": {"13580056", "13556559"},  # Kafka clients CVEs
    "13429759": {"13429758"},  # FileUtils.unTar() missing archives
    "13289655": {"13286152"},  # Netty 4.1.45+/46 for CVE-2019-20444
    "13287181": {"13288139"},  # jackson-databind for CVE-2020-8840
    "13324279": {"13393040", "13418660"},  # log4j 1.2.17 CVE-2019-17571
    "13363984": {"13363985"},  # HuaweiCloud OBS adapter description (filed twice)
    "13450390": {"13451378"},  # Release Hadoop 3.3.4
    "13447262": {"13447277"},  # HashSet/TreeSet constructors
    "13440545": {"13435952"},  # jackson CVE-2020-36518 in hadoop-client-runtime
    "13445444": {"13373448"},  # guava 30.1.1-jre
    "13548117": {"13546563", "13560949"},  # guava for CVE-2023-2976
    "13475284": {"13472057"},  # CVE-2022-31159 via dependencies
    "13472056": {"13471087"},  # jetty for CVE-2022-2047
    "13514151": {"13526196"},  # netty upgrade for CVE-2022-41881
    "13484522": {"13486069", "13502654"},  # jackson-databind CVE-2022-42003
    "13484520": {"13483078"},  # jettison CVE-2022-40149
    "13502654": {"13486069", "13484522"},  # jackson-databind CVE-2022-42003/42004
    "13418660": {"13393040", "13324279"},  # log4j upgrade
    "13380496": {"13381356"},  # hadoop-thirdparty 1.1.1
    "13376238": {"13438913"},  # protobuf 3.7.1 upgrade
    "13582038": {"13376509"},  # FileStatus when opening a file
}


def _recall(project, defects_by_ext, k: int = 5) -> tuple[float, float, list[float]]:
    from defects.duplicates import similar_to_defect

    hits, reciprocal, latencies = 0, 0.0, []
    for dup_id, originals in LABELS.items():
        defect = defects_by_ext[dup_id]
        started = time.perf_counter()
        found = similar_to_defect(defect=defect, limit=k)
        latencies.append((time.perf_counter() - started) * 1000)
        ranked = [s.defect.external_id for s in found]
        ranks = [i for i, ext in enumerate(ranked) if ext in originals]
        if ranks:
            hits += 1
            reciprocal += 1 / (ranks[0] + 1)
    return hits / len(LABELS), reciprocal / len(LABELS), latencies


def _pad(project, rows: int, seed: int = 7) -> None:
    """Add synthetic distractors up to `rows` defects: words drawn from the real bugs' word frequencies.

    Titles and descriptions are sampled word by word from the Hadoop titles' and descriptions' vocabularies
    (with their frequencies and length distribution), so term statistics stay realistic while no
    synthetic defect copies a real one (copies would be duplicates themselves and make recall meaningless).
    """
    from defects.models import Defect

    existing = Defect.objects.filter(project=project).count()
    source = list(Defect.objects.filter(project=project).values_list("title", "description"))
    title_words = [w for t, _ in source for w in t.split()]
    desc_words = [w for _, d in source for w in d[:2000].split()]
    title_lengths = [len(t.split()) for t, _ in source]
    desc_lengths = [min(len(d.split()), 300) for _, d in source]
    rng = random.Random(seed)
    batch, number = [], existing
    for _ in range(max(rows - existing, 0)):
        number += 1
        title = " ".join(rng.choices(title_words, k=rng.choice(title_lengths)))[:300]
        description = " ".join(rng.choices(desc_words, k=rng.choice(desc_lengths))) if desc_words else ""
        batch.append(
            Defect(
                project=project,
                number=number,
                key=f"{project.key}-{number}",
                title=title,
                description=description,
            )
        )
        if len(batch) == 5000:
            Defect.objects.bulk_create(batch)
            batch = []
    if batch:
        Defect.objects.bulk_create(batch)


def _stats(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms (n={len(ordered)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", default=str(DEFAULT_CSV))
    parser.add_argument(
        "--rows", type=int, default=100_000, help="defects in the project for the latency run"
    )
    parser.add_argument("--profile", action="store_true", help="print where the time of one query goes")
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
    from defects.jira_import import import_jira_csv
    from defects.models import Defect
    from releases.models import Project

    # Metric recomputes are not what is measured here (they would run in-process after the import).
    metrics.services.schedule_recompute = lambda **kwargs: None
    old = setup_databases(verbosity=0, interactive=False, keepdb=False)
    try:
        print(f"Database: {connection.vendor} ({connection.settings_dict['NAME']})")
        project = Project.objects.create(key="HADOOP", name="Apache Hadoop")
        started = time.perf_counter()
        report = import_jira_csv(project=project, text=csv_path.read_text(encoding="utf-8"), by=None)
        print(
            f"Import: {report.created} defects, {report.transitions} transitions, "
            f"{len(report.skipped)} skipped in {time.perf_counter() - started:.1f} s"
        )
        by_ext = {d.external_id: d for d in Defect.objects.filter(project=project)}
        missing = [i for i in LABELS if i not in by_ext] + [
            o for s in LABELS.values() for o in s if o not in by_ext
        ]
        if missing:
            print(f"Labelled ids missing from the file: {missing}")
            return 2
        recall, mrr, lat = _recall(project, by_ext)
        print(
            f"Hadoop only ({len(by_ext)} defects): recall@5 {recall:.2f} ({round(recall * len(LABELS))}/"
            f"{len(LABELS)}), MRR {mrr:.2f}; latency {_stats(lat)}"
        )

        started = time.perf_counter()
        _pad(project, args.rows)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE defects_defect")
        total = Defect.objects.filter(project=project).count()
        print(f"Padded to {total} defects in {time.perf_counter() - started:.1f} s")
        recall, mrr, lat = _recall(project, by_ext)
        from defects.duplicates import similar_defects

        rng = random.Random(11)
        probes = rng.sample(list(by_ext.values()), 40)
        free_text = []
        for d in probes:
            t0 = time.perf_counter()
            similar_defects(project_id=project.pk, title=d.title, description=d.description, limit=5)
            free_text.append((time.perf_counter() - t0) * 1000)
        print(
            f"At {total} defects: recall@5 {recall:.2f} ({round(recall * len(LABELS))}/{len(LABELS)}), "
            f"MRR {mrr:.2f}"
        )
        print(f"  latency, labelled queries: {_stats(lat)}")
        print(f"  latency, 40 random bugs (title + description): {_stats(free_text)}")
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            for d in probes[:10]:
                similar_defects(project_id=project.pk, title=d.title, description=d.description, limit=5)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    finally:
        teardown_databases(old, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
