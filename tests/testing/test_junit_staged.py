"""The two ingestion paths give the same evidence: the in-memory fold (small reports, SQLite) and the PostgreSQL
staging path (testing/ingest_staged.py: elements COPYed as read, the rules applied in SQL).

Every report of the real-runner corpus, the shared corpus and a report built to hit each rule (reruns per
dialect, retried skips, jest todos, messages and details of several elements, requirement links from
properties, suites and names, migrated identities) is ingested once through each path into two projects of the
same shape; the runs' totals, every result, every test case and every requirement link must be equal.
"""

from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from qualitygov.uploads import upload_from_bytes
from testing import ingest_staged
from testing import models as tm
from testing.asof import links_as_of
from testing.ingest import junit_ingest
from testing.junit import JUnitRefused

from ..factories import ProjectFactory, ReleaseFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the staging path is PostgreSQL's (SQLite folds in memory)"
)

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "datasets" / "junit-corpus"
if not SHARED.exists():
    SHARED = Path("/work/shared/datasets/junit-corpus")
RUNNER_REPORTS = sorted((ROOT / "corpus" / "reports").glob("*/report.xml"))
SHARED_REPORTS = sorted(SHARED.rglob("*.xml")) if SHARED.exists() else []

# Each rule of testing/junit_rules.py at least once, in both orders where order matters.
RULES = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="rules">
  <testsuite name="surefire.Pay" tests="6">
    <properties><property name="requirement" value="REQ-1"/></properties>
    <testcase classname="surefire.Pay" name="flaky_then_pass" time="0.5"><flakyFailure message="timeout">
      <stackTrace>at Pay.java:1</stackTrace></flakyFailure><system-out>out 1</system-out></testcase>
    <testcase classname="surefire.Pay" name="fails_every_rerun" time="0.7"><failure message="first">boom</failure>
      <rerunFailure message="second">boom again</rerunFailure></testcase>
    <testcase classname="surefire.Pay" name="repeat" time="0.1"><system-out>passing output</system-out></testcase>
    <testcase classname="surefire.Pay" name="repeat" time="0.2"><failure message="second run failed">x</failure>
    </testcase>
    <testcase classname="surefire.Pay" name="repeat" time="0.3"><skipped message="retried"/></testcase>
    <testcase classname="surefire.Pay" name="retried_skip_then_pass" time="0"><skipped/></testcase>
    <testcase classname="surefire.Pay" name="retried_skip_then_pass" time="0.4"/>
    <testcase classname="surefire.Pay" name="only_skips" time="0.01"><skipped message="a"/></testcase>
    <testcase classname="surefire.Pay" name="only_skips" time="0.02"><skipped message="b"/></testcase>
    <testcase classname="surefire.Pay" name="errors REQ-3 here" time="bad"><error message="npe" type="NPE">
      trace</error></testcase>
    <testcase classname="surefire.Pay" name="disabled" status="disabled"/>
    <testsuite name="nested" tests="1">
      <properties><property name="requirements" value="REQ-2, abc-7"/></properties>
      <testcase classname="nested" name="inner"><properties><property name="requirement" value="REQ-4"/>
      </properties></testcase>
    </testsuite>
  </testsuite>
  <testsuite name="files" tests="3" file="src/a.test.js">
    <testcase classname="d t" name="same title" file="src/a.test.js"/>
    <testcase classname="d t" name="same title" file="src\\b.test.js"><failure message="b fails"/></testcase>
    <testcase classname="legacy" name="moved" file="./src/c.test.js"/>
    <testcase classname="legacy" name="moved"/>
    <testcase name=""/>
    <testcase name="  tabs\tand&#10;newlines  "><failure message="with &#9; tab">line1&#10;line2\\n</failure>
    </testcase>
  </testsuite>
</testsuites>
"""

PYTEST = """<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest">
<testcase classname="t.test_a" name="test_flaky" time="0.1"/>
<testcase classname="t.test_a" name="test_flaky" time="0.2"/>
<testcase classname="t.test_a" name="test_always_fails" time="0.1"/>
<testcase classname="t.test_a" name="test_always_fails" time="0.1"><failure message="no">e</failure></testcase>
<testcase classname="t.test_a" name="test_skip" time="0"><skipped message="why"/></testcase>
<testcase classname="t.test_a" name="test_error_then_pass" time="0.1"><error message="setup"/></testcase>
<testcase classname="t.test_a" name="test_error_then_pass" time="0.3"/>
</testsuite></testsuites>"""

GO = """<testsuites><testsuite name="example.com/p" tests="3"><properties>
<property name="go.version" value="go1.22"/></properties>
<testcase classname="example.com/p" name="TestA" time="0.1"><failure message="Failed"/></testcase>
<testcase classname="example.com/p" name="TestB" time="0.1"/>
<testcase classname="example.com/p" name="TestA" time="0.2"/>
<testcase classname="example.com/p" name="TestC" time="0.1"><failure message="Failed"/></testcase>
<testcase classname="example.com/p" name="TestC" time="0.1"><failure message="Failed again"/></testcase>
</testsuite></testsuites>"""

JEST_TODO = """<testsuites name="jest tests" tests="3"><testsuite name="s" tests="2" file="x.test.js">
<testcase classname="s a" name="s a" time="0.01"/><testcase classname="s b" name="s b" time="0.2">
<failure>f</failure></testcase><testcase classname="s todo" name="s todo" time="0"/></testsuite>
<testsuite name="u" tests="2" file="y.test.js"><testcase classname="u a" name="u a" time="0"/>
<testcase classname="u b" name="u b" time="0"/><testcase classname="u c" name="u c" time="0"/></testsuite>
<testsuite name="v" tests="1" file="z.test.js"><testcase classname="v same" name="v same" time="0.01"/>
<testcase classname="v same" name="v same" time="0"/></testsuite>
</testsuites>"""

REPORTS = {
    "rules": RULES.encode(),
    "pytest": PYTEST.encode(),
    "go": GO.encode(),
    "jest_todo": JEST_TODO.encode(),
    **{f"runner:{p.parent.name}": p.read_bytes() for p in RUNNER_REPORTS},
    **{f"shared:{p.relative_to(SHARED)}": p.read_bytes() for p in SHARED_REPORTS},
}


def _project(key: str):
    project = ProjectFactory(key=key, name=key)
    for k in ("REQ-1", "REQ-2", "REQ-3", "REQ-4", "ABC-7"):
        tm.Requirement.objects.create(project=project, key=k, title=k)
    # a row migrated from the suite-based identity, adopted by the test the report places by file
    tm.TestCase.objects.create(
        project=project,
        identity="files::legacy::moved",
        suite="files",
        name="moved",
        title="moved",
        kind="automated",
    )
    return project, ReleaseFactory(project=project, version="1.0")


def _ingest(settings, release, data: bytes, *, staged: bool, revision: str = "r1"):
    settings.QUALITYGOV_JUNIT_STAGED_BYTES = 0 if staged else 1 << 40
    try:
        outcome = junit_ingest(release=release, upload=upload_from_bytes(data), by=None, revision=revision)
    except JUnitRefused as exc:
        return ("refused", exc.message)
    return _evidence(outcome)


def _evidence(outcome):
    run = outcome.run
    project_id = run.release.project_id
    results = {
        r["test_case__identity"]: tuple(r.values())[1:]
        for r in tm.TestResult.objects.filter(run=run).values(
            "test_case__identity", "status", "flaky", "attempts", "duration", "message", "details"
        )
    }
    cases = {
        c[0]: c[1:]
        for c in tm.TestCase.objects.filter(project_id=project_id).values_list(
            "identity", "suite", "classname", "location", "name", "title", "kind"
        )
    }
    links = sorted(
        tm.TestCase.requirements.through.objects.filter(testcase__project_id=project_id).values_list(
            "testcase__identity", "requirement__key"
        )
    )
    # every link made has its history: the links replayed as of now are the links
    replayed = sorted(
        links_as_of(timezone.now())
        .filter(test_case__project_id=project_id)
        .values_list("test_case__identity", "requirement__key")
    )
    assert replayed == links
    totals = (run.tests, run.passed, run.failed, run.errors, run.skipped, run.flaky)
    return {
        "answer": {**outcome.as_dict(), "run": None},
        "totals": totals,
        "results": results,
        "cases": cases,
        "links": links,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(REPORTS))
@pytest.mark.parametrize("shape", ["default", "crowded"])
def test_the_staging_path_stores_what_the_in_memory_fold_stores(settings, monkeypatch, name, shape):
    if shape == "crowded":
        # identities go to the bit filter from the first one, and an 8-bit filter flags nearly every element
        # as a possible repeat (false positives take the full rules, which must give the same tests); results
        # go in about five statements with immediate key checks (each statement settles the whole staging
        # table again, so a fixed chunk of 3 made the 3,000-testcase shared reports take ~1,000 statements and
        # 10+ minutes per upload)
        monkeypatch.setattr(ingest_staged, "SEEN_EXACT", 0)
        monkeypatch.setattr(ingest_staged, "SEEN_BITS", 8)
        monkeypatch.setattr(ingest_staged, "RESULT_CHUNK", max(3, REPORTS[name].count(b"<testcase") // 4))
    data = REPORTS[name]
    _, memory_release = _project("MEM")
    _, staged_release = _project("SQL")
    memory = _ingest(settings, memory_release, data, staged=False)
    staged = _ingest(settings, staged_release, data, staged=True)
    assert staged == memory
    if isinstance(memory, dict):
        # warm: the same report for a new revision finds the test cases it created
        assert (
            _ingest(settings, staged_release, data, staged=True, revision="r2")["results"]
            == memory["results"]
        )


@pytest.mark.django_db
def test_the_rules_report_hits_what_it_is_built_for(settings):
    project, release = _project("SQL")
    migrated = tm.TestCase.objects.get(project=project, identity="files::legacy::moved")
    evidence = _ingest(settings, release, RULES.encode(), staged=True)
    results = evidence["results"]
    assert results["surefire.Pay::surefire.Pay::flaky_then_pass"][:3] == ("passed", True, 2)
    assert results["surefire.Pay::surefire.Pay::fails_every_rerun"][:3] == ("failed", False, 2)
    assert results["surefire.Pay::surefire.Pay::repeat"][0] == "failed"
    assert results["surefire.Pay::surefire.Pay::repeat"][4] == "second run failed"
    assert results["surefire.Pay::surefire.Pay::retried_skip_then_pass"][:2] == ("passed", True)
    assert results["surefire.Pay::surefire.Pay::only_skips"][0] == "skipped"
    assert results["src/a.test.js::d t::same title"][0] == "passed"
    assert results["src/b.test.js::d t::same title"][0] == "failed"
    # the migrated row kept its id (its history) and took the file-based identity
    migrated.refresh_from_db()
    assert (migrated.identity, migrated.location) == ("src/c.test.js::legacy::moved", "src/c.test.js")
    # requirements from the test's own properties, its suite, the suites around it and its name
    inner = "nested::nested::inner"
    assert {k for i, k in evidence["links"] if i == inner} == {"ABC-7", "REQ-1", "REQ-2", "REQ-4"}
    assert ("surefire.Pay::surefire.Pay::errors REQ-3 here", "REQ-3") in evidence["links"]
    assert evidence["totals"] == (16, 8, 4, 1, 3, 2)
    assert all(type(v) is int for v in evidence["answer"].values() if not isinstance(v, bool | None))


@pytest.mark.django_db
def test_a_refused_report_on_the_staging_path_writes_nothing(settings):
    _, release = _project("SQL")
    cases_before = tm.TestCase.objects.count()
    answer = _ingest(settings, release, b"<testsuites><testsuite name='s'><testcase name='a'/>", staged=True)
    assert answer[0] == "refused"
    assert tm.TestRun.objects.count() == 0 and tm.TestCase.objects.count() == cases_before


@pytest.mark.django_db
def test_a_failed_staging_copy_stops_the_parser_and_writes_nothing(settings, monkeypatch):
    import threading

    from django.db import DatabaseError

    from testing import ingest_staged_sql

    _, release = _project("SQL")
    cases_before = tm.TestCase.objects.count()
    monkeypatch.setattr(ingest_staged, "COPY_ROWS", 2)  # the parser is several batches ahead when it fails
    monkeypatch.setattr(ingest_staged_sql, "COPY_STAGE", "COPY junit_stage (no_such_column) FROM STDIN")
    with pytest.raises(DatabaseError):
        _ingest(settings, release, RULES.encode(), staged=True)
    assert not [t for t in threading.enumerate() if t.name == "junit-stage"]
    assert tm.TestRun.objects.count() == 0 and tm.TestCase.objects.count() == cases_before


@pytest.mark.django_db
@pytest.mark.parametrize("work_mem", ["4MB", "64MB"])
def test_the_staging_path_gives_work_mem_back(settings, work_mem):
    _, release = _project("SQL")
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, false)", [work_mem])
        assert _ingest(settings, release, RULES.encode(), staged=True)["totals"][0] == 16
        cursor.execute("SELECT current_setting('work_mem')")
        assert cursor.fetchone()[0] == work_mem
        cursor.execute("RESET work_mem")
