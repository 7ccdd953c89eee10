"""Runner-exact semantics: identity by file/suite, reruns per runner dialect, totals as the runner counts.

The first three tests are the regressions of issue 15 (the XML is shaped as the real runners write it; the
corpus under corpus/ holds complete real reports).
"""

import io
from importlib import import_module

from django.apps import apps as django_apps

from testing import models as tm
from testing.junit import parse_report


def parse(xml: str):
    return parse_report(io.BytesIO(xml.encode()))


def upload(client, release, xml: str):
    return client.post(
        f"/api/v1/releases/{release.pk}/junit/", data=xml.encode(), content_type="application/xml"
    )


JEST_SAME_TITLE_TWO_FILES = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="jest tests" tests="4" failures="1" errors="0" time="1.0">
  <testsuite name="utils" errors="0" failures="1" skipped="0" timestamp="2026-11-30T00:00:00" time="0.5" tests="2">
    <testcase classname="utils handles empty input" name="utils handles empty input" time="0.02" file="beta.test.js">
      <failure>Error: expect(received).toBe(expected)</failure>
    </testcase>
    <testcase classname="utils keeps text" name="utils keeps text" time="0.001" file="beta.test.js"></testcase>
  </testsuite>
  <testsuite name="utils" errors="0" failures="0" skipped="0" timestamp="2026-11-30T00:00:01" time="0.2" tests="2">
    <testcase classname="utils handles empty input" name="utils handles empty input" time="0.006" file="alpha.test.js">
    </testcase>
    <testcase classname="utils keeps text" name="utils keeps text" time="0.001" file="alpha.test.js"></testcase>
  </testsuite>
</testsuites>"""


def test_jest_same_title_in_two_files_are_two_tests_and_the_failure_stays_visible(
    release, api_client_for, qa
):
    # given the failing file reported first, as in the issue
    report = parse(JEST_SAME_TITLE_TWO_FILES)
    counts = report.counts()
    assert (counts["tests"], counts["passed"], counts["failed"], counts["flaky"]) == (4, 3, 1, 0)
    failing = report.cases["beta.test.js::utils handles empty input::utils handles empty input"]
    passing = report.cases["alpha.test.js::utils handles empty input::utils handles empty input"]
    assert (failing.status, failing.flaky) == ("failed", False)
    assert (passing.status, passing.flaky) == ("passed", False)
    # and through the API: two test cases, the failure stored as a failure
    response = upload(api_client_for(qa), release, JEST_SAME_TITLE_TWO_FILES)
    assert response.status_code == 201, response.content
    assert response.json()["failed"] == 1 and response.json()["tests"] == 4
    assert tm.TestCase.objects.filter(name="utils handles empty input").count() == 2
    assert tm.TestResult.objects.filter(status="failed", flaky=False).count() == 1


def test_mocha_same_describe_in_two_files_are_two_tests():
    xml = """<testsuites name="Mocha Tests" tests="2" failures="1">
      <testsuite name="parser" tests="1" file="/ci/test/a.spec.js" failures="0">
        <testcase name="parser reads a number" time="0.001" classname="reads a number"/></testsuite>
      <testsuite name="parser" tests="1" file="/ci/test/b.spec.js" failures="1">
        <testcase name="parser reads a number" time="0.001" classname="reads a number"><failure message="x"/></testcase>
      </testsuite></testsuites>"""
    counts = parse(xml).counts()
    assert (counts["tests"], counts["test_cases"], counts["passed"], counts["failed"]) == (2, 2, 1, 1)


PYTEST_RERUNS = """<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest"
  errors="0" failures="1" skipped="0" tests="5" time="0.1" timestamp="2026-11-30T00:00:00" hostname="ci">
  <testcase classname="test_m" name="test_fails_once_then_passes" time="0.001" />
  <testcase classname="test_m" name="test_fails_once_then_passes" time="0.001" />
  <testcase classname="test_m" name="test_fails_every_attempt" time="0.001" />
  <testcase classname="test_m" name="test_fails_every_attempt" time="0.001" />
  <testcase classname="test_m" name="test_fails_every_attempt" time="0.001"><failure message="boom">E</failure></testcase>
  <testcase classname="test_m" name="test_passes" time="0.001" />
</testsuite></testsuites>"""


def test_pytest_rerunfailures_empty_reruns_are_failed_attempts_not_passes():
    # pytest's line for this run: "1 failed, 2 passed, 3 rerun"
    report = parse(PYTEST_RERUNS)
    always = report.cases["pytest::test_m::test_fails_every_attempt"]
    once = report.cases["pytest::test_m::test_fails_once_then_passes"]
    assert (always.status, always.flaky, always.attempts) == ("failed", False, 3)
    assert (once.status, once.flaky, once.attempts) == ("passed", True, 2)
    counts = report.counts()
    assert (counts["tests"], counts["passed"], counts["failed"], counts["flaky"]) == (3, 2, 1, 1)
    assert sum(c.attempts - 1 for c in report.cases.values()) == 3


def _testng(elements: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<testsuite hostname="ci" failures="1" tests="9" name="corpus-tests" time="0.3" errors="0"
  timestamp="30 Nov 2026 21:51:45 GMT">{elements}</testsuite>"""


def test_testng_retried_attempts_written_as_skipped_do_not_hide_the_pass():
    # the retried attempt is written as <skipped/>, after the passing one
    report = parse(
        _testng("""<testcase classname="c.T" name="retried" time="0.0"/>
        <testcase classname="c.T" name="retried" time="0.0"><skipped/></testcase>""")
    )
    case = report.cases["corpus-tests::c.T::retried"]
    assert (case.status, case.flaky, case.attempts) == ("passed", True, 2)
    assert report.counts()["skipped"] == 0 and report.counts()["tests"] == 1


def test_testng_data_provider_invocations_count_separately_and_one_failure_fails_the_test():
    invocations = "".join(
        '<testcase classname="c.T" name="accepts" time="0.0">'
        + ('<failure message="refused" type="AssertionError"/>' if i in (3, 17) else "")
        + "</testcase>"
        for i in range(32)
    )
    report = parse(_testng(invocations))
    case = report.cases["corpus-tests::c.T::accepts"]
    assert case.status == "failed" and not case.flaky
    assert case.executions() == [30, 2, 0, 0]
    counts = report.counts()
    assert (counts["tests"], counts["passed"], counts["failed"], counts["test_cases"]) == (32, 30, 2, 1)


def test_gotestsum_rerun_fails_repeats_are_attempts():
    xml = """<testsuites tests="5" failures="3"><testsuite tests="5" failures="3" name="example.com/p">
      <properties><property name="go.version" value="go1.19"></property></properties>
      <testcase classname="example.com/p" name="TestFlaky" time="0"><failure message="Failed">x</failure></testcase>
      <testcase classname="example.com/p" name="TestBroken" time="0"><failure message="Failed">x</failure></testcase>
      <testcase classname="example.com/p" name="TestBroken" time="0"><failure message="Failed">x</failure></testcase>
      <testcase classname="example.com/p" name="TestFlaky" time="0"></testcase>
      <testcase classname="example.com/p" name="TestOK" time="0"></testcase></testsuite></testsuites>"""
    report = parse(xml)
    assert report.dialect == "go"
    flaky = report.cases["example.com.p::example.com.p::TestFlaky"]
    broken = report.cases["example.com.p::example.com.p::TestBroken"]
    assert (flaky.status, flaky.flaky, broken.status, broken.flaky) == ("passed", True, "failed", False)
    counts = report.counts()
    assert (counts["tests"], counts["passed"], counts["failed"]) == (3, 2, 1)


def test_skips_never_override_and_surefire_flakes_stay_flaky():
    xml = """<testsuite name="com.acme.PayTest" tests="1"><testcase name="t" classname="com.acme.PayTest">
      <flakyFailure message="first"/></testcase></testsuite>"""
    case = next(iter(parse(xml).cases.values()))
    assert (case.status, case.flaky, case.attempts) == ("passed", True, 2)


def test_jest_todo_counts_as_skipped_only_when_the_suite_says_so():
    xml = """<testsuites name="jest tests" tests="2"><testsuite name="s" tests="2">
      <testcase classname="s a" name="s a" time="0.001" file="a.test.js"></testcase>
      <testcase classname="s b" name="s b" time="0" file="a.test.js"><skipped/></testcase>
      <testcase classname="s todo" name="s todo" time="0" file="a.test.js"></testcase>
    </testsuite></testsuites>"""
    counts = parse(xml).counts()
    assert (counts["tests"], counts["passed"], counts["skipped"]) == (3, 1, 2)
    # without the suite's count falling short, a zero-time empty case is a pass
    counts = parse(xml.replace('<testsuite name="s" tests="2">', '<testsuite name="s" tests="3">')).counts()
    assert (counts["passed"], counts["skipped"]) == (2, 1)


def test_migration_rewrites_identities_and_keeps_history(release, api_client_for, qa):
    # given test cases stored under the old "scope::name" identities, with a result each
    run = tm.TestRun.objects.create(release=release, name="old")
    with_class = tm.TestCase.objects.create(
        project=release.project,
        identity="tests.test_a::test_x",
        suite="pytest",
        name="test_x",
        title="tests.test_a.test_x",
        kind="automated",
    )
    no_class = tm.TestCase.objects.create(
        project=release.project,
        identity="S::<unnamed 1>",
        suite="S",
        name="<unnamed 1>",
        title="<unnamed 1>",
        kind="automated",
    )
    jest = tm.TestCase.objects.create(
        project=release.project,
        identity="utils handles empty input::utils handles empty input",
        suite="utils",
        name="utils handles empty input",
        title="utils handles empty input.utils handles empty input",
        kind="automated",
    )
    for case in (with_class, no_class, jest):
        tm.TestResult.objects.create(run=run, release=release, test_case=case, status="passed")
    # when the data migration runs
    migration = import_module("testing.migrations.0004_testcase_identity_file_suite_class")
    migration.rewrite_identities(django_apps, None)
    # then each row has the identity a report now computes, and keeps its result
    with_class.refresh_from_db()
    no_class.refresh_from_db()
    assert with_class.identity == "pytest::tests.test_a::test_x" and with_class.classname == "tests.test_a"
    assert no_class.identity == "S::::<unnamed 1>"
    assert with_class.results.count() == 1 and no_class.results.count() == 1
    # and an upload of the same tests finds the same rows (history continues), the jest file adopting its row
    client = api_client_for(qa)
    xml = """<testsuites><testsuite name="pytest"><testcase classname="tests.test_a" name="test_x"/></testsuite>
      <testsuite name="S"><testcase/></testsuite></testsuites>"""
    assert upload(client, release, xml).status_code == 201
    assert with_class.results.count() == 2 and no_class.results.count() == 2
    assert upload(client, release, JEST_SAME_TITLE_TWO_FILES).status_code == 201
    jest.refresh_from_db()
    assert jest.identity == "beta.test.js::utils handles empty input::utils handles empty input"
    assert jest.location == "beta.test.js" and jest.results.count() == 2
    assert tm.TestCase.objects.filter(name="utils handles empty input").count() == 2
