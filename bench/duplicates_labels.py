"""Build the labelled duplicate pairs of the Hadoop export: bench/data/hadoop_duplicates.json.

    python bench/duplicates_labels.py            # writes the file (same input, same output)
    python bench/duplicates_labels.py --check    # fails when the file is not what the script builds
    python bench/duplicates_labels.py --candidates   # prints every candidate pair, to review them again

The export (`hadoop_bugs.csv`: summary, Jira issue id, status, resolution, dates, description) holds 151 bugs
resolved as Duplicate, but no links and no issue keys of its own rows, so "X duplicates Y" has to be recovered
by reading the texts. Two steps:

1. Candidates, by rules anyone can re-run. For every Duplicate-resolved bug, another bug of the file is a
   candidate original when the two texts share
   - a CVE id (summary or description), or
   - a Jira key mentioned in both texts (HADOOP-/HDFS-/YARN-/MAPREDUCE-nnn, in at most 3 bugs), or
   - a code identifier of the summaries (CamelCase class or test name, dotted name; in at most 4 bugs), or
   - most of the summary's words (Jaccard >= 0.5 over the summaries' content words).
2. A verdict per candidate pair, by reading both texts (ACCEPTED below, with the reason). Kept: the same
   problem (the same upgrade for the same CVE, the same failing test, the same request filed twice). Left out:
   the same library bumped to another version, siblings ("... in hadoop-yarn-project" next to "... in
   hadoop-hdfs-project"), a generic "there are CVEs" question next to one specific fix, a later issue that
   cannot be the original of an earlier report.

The script checks that every accepted pair is among the rule candidates, so no label rests on judgement alone.
Caveat: candidates come from shared words and identifiers, so the set favours duplicates that share
vocabulary; duplicates worded completely differently cannot be found this way (nor, mostly, by a text finder).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CSV = ROOT.parent / "shared" / "datasets" / "defects" / "gitbugs" / "hadoop_bugs.csv"
OUTPUT = ROOT / "bench" / "data" / "hadoop_duplicates.json"

# (duplicate issue id, original issue id): reason the two describe the same problem.
ACCEPTED: dict[tuple[str, str], str] = {
    ("13399825", "13362199"): "BouncyCastle upgrade for CVE-2020-15522 / CVE-2020-26939",
    ("13393040", "13324279"): "log4j 1.2.17 critical vulnerability CVE-2019-17571",
    ("13393040", "13418660"): "log4j upgrade for its vulnerabilities",
    ("13324279", "13393040"): "log4j 1.2.17 CVE-2019-17571",
    ("13324279", "13418660"): "log4j upgrade for its vulnerabilities",
    ("13418660", "13393040"): "log4j upgrade",
    ("13418660", "13324279"): "log4j upgrade",
    ("13347160", "13352400"): "hadoop version used by TestDynamometerInfra",
    ("13347160", "13340117"): "TestDynamometerInfra fails downloading an old hadoop version",
    ("13352400", "13347160"): "hadoop version used by TestDynamometerInfra",
    ("13352400", "13340117"): "TestDynamometerInfra fails downloading an old hadoop version",
    ("13341443", "13345117"): "replace HTrace with a no-op tracer",
    ("13343290", "13344113"): "GCS per-bucket configuration, filed twice",
    ("13339216", "13338474"): "TestLdapGroupsMapping failing on trunk",
    ("13582038", "13376509"): "pass a FileStatus when opening a file",
    ("13580056", "13556559"): "Kafka 3.4.0 for CVE-2023-25194",
    ("13580056", "13578868"): "Kafka clients CVE-2023-25194",
    ("13578868", "13580056"): "Kafka clients CVE-2023-25194",
    ("13578868", "13556559"): "Kafka clients CVE-2023-25194",
    ("13420488", "13420194"): "update the copyright year to 2022",
    ("13430997", "13397564"): "ITestAbfsRestOperationException failures",
    ("13430997", "13421665"): "ITestAbfsRestOperationException failures",
    ("13429759", "13429758"): "FileUtils.unTar() and missing archives",
    ("13289655", "13286152"): "Netty 4.1.45+/46 for CVE-2019-20444",
    ("13285270", "13312586"): "javadoc errors on JDK 11",
    ("13287181", "13288139"): "jackson-databind for CVE-2020-8840",
    ("13315424", "13318950"): "wrapper replacing Guava Lists.newArrayList",
    ("13323361", "13329652"): "ITestAbfsNetworkStatistics#testAbfsHttpResponseStatistics failure",
    ("13323361", "13324565"): "ITestAbfsNetworkStatistics#testAbfsHttpResponseStatistics failure",
    ("13380496", "13381356"): "hadoop-thirdparty 1.1.1",
    ("13386877", "13328984"): "jQuery 3.4.1 to 3.5.x in the web UIs",
    ("13363984", "13363985"): "HuaweiCloud OBS adapter description, filed twice",
    ("13352963", "13352964"): "abfs incremental listings, filed twice",
    ("13365756", "13365757"): "CIDR example in the proxy user docs, filed twice",
    ("13573172", "13562836"): "pre-commit CI for Windows",
    ("13450390", "13451378"): "Hadoop 3.3.4 release",
    ("13447262", "13447277"): "HashSet/TreeSet constructors instead of Guava",
    ("13440545", "13435952"): "jackson-databind CVE-2020-36518 in hadoop-client-runtime",
    ("13440545", "13429194"): "hadoop-client-runtime security issues from its dependencies",
    ("13445444", "13373448"): "guava 30.1.1-jre",
    ("13548117", "13546563"): "guava for CVE-2023-2976",
    ("13548117", "13560949"): "guava for CVE-2023-2976",
    ("13475284", "13472057"): "CVE-2022-31159 coming in through dependencies",
    ("13472056", "13471087"): "jetty for CVE-2022-2047",
    ("13514151", "13526196"): "netty upgrade for CVE-2022-41881",
    ("13484522", "13486069"): "jackson-databind CVE-2022-42003",
    ("13484522", "13502654"): "jackson-databind CVE-2022-42003",
    ("13502654", "13486069"): "jackson-databind CVE-2022-42003/42004",
    ("13502654", "13484522"): "jackson-databind CVE-2022-42003",
    ("13484520", "13483078"): "jettison CVE-2022-40149",
    ("13410294", "13409131"): "disable the JIRA plugin of Yetus, filed several times",
    ("13410294", "13409720"): "disable the JIRA plugin of Yetus, filed several times",
    ("13410294", "13409721"): "disable the JIRA plugin of Yetus, filed several times",
    ("13410294", "13409722"): "disable the JIRA plugin of Yetus, filed several times",
    ("13410294", "13410311"): "disable the JIRA plugin of Yetus, filed several times",
    ("13522853", "13514035"): "JDK 11 javadoc fails on missing package comments",
    ("13413321", "13413323"): "Configuration#substituteVars visibility change, same text",
}

_CVE = re.compile(r"CVE-\d{4}-\d{4,7}", re.IGNORECASE)
_KEY = re.compile(r"\b(?:HADOOP|HDFS|YARN|MAPREDUCE)-\d+\b")
_IDENT = re.compile(
    r"\b(?:[A-Z][a-z0-9]+){2,}[A-Za-z0-9]*\b|\b[a-z]+(?:\.[a-z0-9]+){2,}\b|\b[A-Za-z]+\d*[A-Z]\w*\b"
)
_WORD = re.compile(r"[a-z0-9][a-z0-9.\-_]*")
_STOP_TEXT = """a an and are as at be by for from in is it of on or the to with when not should does fails fail
    failing add support use using after into"""
_STOP = frozenset(_STOP_TEXT.split())


def _content(summary: str) -> set[str]:
    return {w for w in _WORD.findall(summary.lower()) if w not in _STOP and len(w) > 1}


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def candidates(rows: list[dict[str, str]]) -> dict[tuple[str, str], str]:
    """(duplicate id, other id) -> the rule evidence, for every Duplicate-resolved bug."""
    text = {r["Issue id"]: f"{r['Summary']} {r['Description']}" for r in rows}
    cves = {i: {m.upper() for m in _CVE.findall(t)} for i, t in text.items()}
    keys = {i: set(_KEY.findall(t)) for i, t in text.items()}
    idents = {r["Issue id"]: {m for m in _IDENT.findall(r["Summary"]) if len(m) > 5} for r in rows}
    words = {r["Issue id"]: _content(r["Summary"]) for r in rows}
    key_df = Counter(k for s in keys.values() for k in s)
    ident_df = Counter(k for s in idents.values() for k in s)
    found: dict[tuple[str, str], str] = {}
    for dup in rows:
        if dup["Resolution"] != "Duplicate":
            continue
        d = dup["Issue id"]
        for other in rows:
            o = other["Issue id"]
            if o == d:
                continue
            evidence = sorted(cves[d] & cves[o])
            evidence += sorted(k for k in keys[d] & keys[o] if key_df[k] <= 3)
            evidence += sorted(k for k in idents[d] & idents[o] if ident_df[k] <= 4)
            union = words[d] | words[o]
            jaccard = len(words[d] & words[o]) / len(union) if union else 0.0
            if jaccard >= 0.5:
                evidence.append(f"summary words {jaccard:.2f}")
            if evidence:
                found[(d, o)] = ", ".join(evidence)
    return found


def build(rows: list[dict[str, str]]) -> dict:
    found = candidates(rows)
    missing = [pair for pair in ACCEPTED if pair not in found]
    if missing:
        raise SystemExit(f"Accepted pairs without rule evidence: {missing}")
    queries: dict[str, list[dict[str, str]]] = {}
    for (dup, original), reason in sorted(ACCEPTED.items()):
        queries.setdefault(dup, []).append(
            {"original": original, "evidence": found[(dup, original)], "why": reason}
        )
    return {
        "source": "hadoop_bugs.csv (Jira issue ids)",
        "duplicates_in_file": sum(1 for r in rows if r["Resolution"] == "Duplicate"),
        "candidate_pairs": len(found),
        "accepted_pairs": len(ACCEPTED),
        "queries": queries,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", default=str(DEFAULT_CSV))
    parser.add_argument("--check", action="store_true", help="fail if the committed file differs")
    parser.add_argument("--candidates", action="store_true", help="print every candidate pair")
    args = parser.parse_args()
    rows = read_rows(Path(args.csv))
    if args.candidates:
        summary = {r["Issue id"]: r["Summary"].strip() for r in rows}
        for (dup, other), evidence in candidates(rows).items():
            mark = "ACCEPTED" if (dup, other) in ACCEPTED else "left out"
            print(
                f"{dup} -> {other} [{mark}] {evidence}\n    {summary[dup][:100]}\n    {summary[other][:100]}"
            )
        return 0
    data = build(rows)
    text = json.dumps(data, indent=1, sort_keys=True) + "\n"
    if args.check:
        same = OUTPUT.exists() and OUTPUT.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{OUTPUT} differs from what the script builds")
        return 0 if same else 1
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(
        f"{len(data['queries'])} queries, {data['accepted_pairs']} pairs accepted of "
        f"{data['candidate_pairs']} candidates ({data['duplicates_in_file']} Duplicate-resolved bugs) -> {OUTPUT}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
