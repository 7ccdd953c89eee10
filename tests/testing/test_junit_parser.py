"""The streaming JUnit reader: dialects of real tools, retries, durations, missing attributes, refusals."""

import gzip
import io

import pytest

from qualitygov.errors import PayloadTooLarge
from qualitygov.uploads import UploadRefused, spool_upload
from testing.junit import (
    DETAILS_CHARS,
    JUnitRefused,
    normalise_identity,
    parse_report,
    requirement_keys_in_name,
)


def parse(xml: str | bytes):
    data = xml.encode() if isinstance(xml, str) else xml
    return parse_report(io.BytesIO(data))


def one(xml: str):
    report = parse(xml)
    assert len(report.cases) == 1
    return next(iter(report.cases.values()))


DIALECTS = {
    "pytest": """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="1"
        skipped="1" tests="3" time="0.1" timestamp="2024-01-01T00:00:00" hostname="h">
        <testcase classname="tests.test_a" name="test_ok" time="0.001"/>
        <testcase classname="tests.test_a" name="test_bad[1-2]" time="0.002"><failure message="assert 1 == 2">def test
E assert 1 == 2</failure></testcase>
        <testcase classname="tests.test_a" name="test_skip" time="0"><skipped type="pytest.skip" message="nope">x</skipped></testcase>
        </testsuite></testsuites>""",
    "surefire": """<?xml version="1.0" encoding="UTF-8"?><testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
        name="com.acme.PayTest" time="0.5" tests="3" errors="1" skipped="0" failures="1">
        <properties><property name="java.version" value="17"/></properties>
        <testcase name="ok" classname="com.acme.PayTest" time="0.1"/>
        <testcase name="fails" classname="com.acme.PayTest" time="0.1"><failure message="x" type="AssertionError">trace</failure>
          <system-out>out</system-out></testcase>
        <testcase name="boom" classname="com.acme.PayTest" time="0.1"><error message="NPE" type="java.lang.NullPointerException"/></testcase>
        </testsuite>""",
    "jest": """<testsuites name="jest tests" tests="3" failures="1" errors="0" time="1.2">
        <testsuite name="Cart" errors="0" failures="1" skipped="1" timestamp="2024-01-01T00:00:00" time="1" tests="3">
        <testcase classname="Cart adds an item" name="Cart adds an item" time="0.01"/>
        <testcase classname="Cart totals" name="Cart totals" time="0.02"><failure>Error: expected 3</failure></testcase>
        <testcase classname="Cart later" name="Cart later" time="0"><skipped/></testcase></testsuite></testsuites>""",
    "go-junit-report": """<testsuites tests="3" failures="1"><testsuite name="example.com/pay" tests="3" failures="1"
        errors="0" id="0" hostname="h" time="0.010" timestamp="2024-01-01T00:00:00Z">
        <properties><property name="go.version" value="go1.22"/></properties>
        <testcase name="TestOK" classname="example.com/pay" time="0.000"/>
        <testcase name="TestFail" classname="example.com/pay" time="0.000"><failure message="Failed" type="">pay_test.go:12: bad</failure></testcase>
        <testcase name="TestSkip" classname="example.com/pay" time="0.000"><skipped message="skipped"/></testcase>
        </testsuite></testsuites>""",
    "phpunit": """<?xml version="1.0" encoding="UTF-8"?><testsuites><testsuite name="" tests="3" assertions="3" errors="1"
        failures="1" skipped="1" time="0.01"><testsuite name="Pay\\CartTest" file="/app/tests/CartTest.php" tests="3">
        <testcase name="testAdd" class="Pay\\CartTest" classname="Pay.CartTest" file="/app/tests/CartTest.php" line="10" assertions="1" time="0.001"/>
        <testcase name="testTotal" class="Pay\\CartTest" classname="Pay.CartTest" file="/app/tests/CartTest.php" line="20" assertions="1" time="0.001"><failure type="PHPUnit\\Framework\\ExpectationFailedException">Failed asserting</failure></testcase>
        <testcase name="testLater" class="Pay\\CartTest" classname="Pay.CartTest" file="/app/tests/CartTest.php" line="30" assertions="0" time="0.001"><error type="Error">boom</error></testcase>
        </testsuite></testsuite></testsuites>""",
    "bazel": """<?xml version="1.0" encoding="UTF-8"?><testsuites><testsuite name="//pay:pay_test" tests="3" failures="0" errors="1">
        <testcase name="//pay:pay_test" status="run" duration="3" time="3"><error message="exited with error code 1"></error></testcase>
        <testcase name="//pay:a" status="run" time="1"/><testcase name="//pay:b" status="run" time="1"><failure/></testcase>
        <system-out>log</system-out></testsuite></testsuites>""",
    "mocha": """<?xml version="1.0" encoding="UTF-8"?><testsuites name="Mocha Tests" time="0.1" tests="3" failures="1">
        <testsuite name="Root Suite" timestamp="2024-01-01T00:00:00" tests="0" time="0.000" failures="0"></testsuite>
        <testsuite name="cart" timestamp="2024-01-01T00:00:00" tests="3" file="/app/test/cart.js" time="0.1" failures="1">
        <testcase name="cart adds" time="0.001" classname="adds"/><testcase name="cart totals" time="0.001" classname="totals">
        <failure message="expected 2 to equal 3" type="AssertionError"><![CDATA[AssertionError: expected 2 to equal 3]]></failure></testcase>
        <testcase name="cart pending" time="0" classname="pending"><skipped/></testcase></testsuite></testsuites>""",
    "jenkins-namespaced": """<?xml version="1.0"?><ns:testsuites xmlns:ns="urn:x"><ns:testsuite name="s">
        <ns:testcase classname="A" name="ok"/><ns:testcase classname="A" name="bad"><ns:failure/></ns:testcase>
        <ns:testcase classname="A" name="err"><ns:error/></ns:testcase></ns:testsuite></ns:testsuites>""",
}
EXPECTED = {
    "pytest": (3, 1, 1, 0, 1),
    "surefire": (3, 1, 1, 1, 0),
    "jest": (3, 1, 1, 0, 1),
    "go-junit-report": (3, 1, 1, 0, 1),
    "phpunit": (3, 1, 1, 1, 0),
    "bazel": (3, 1, 1, 1, 0),
    "mocha": (3, 1, 1, 0, 1),
    "jenkins-namespaced": (3, 1, 1, 1, 0),
}


@pytest.mark.parametrize("tool", list(DIALECTS))
def test_each_tools_dialect_gives_one_result_per_test_with_the_right_status(tool):
    counts = parse(DIALECTS[tool]).counts()
    assert (
        counts["tests"],
        counts["passed"],
        counts["failed"],
        counts["error"],
        counts["skipped"],
    ) == EXPECTED[tool]


def test_surefire_flaky_failure_then_pass_is_passed_and_flaky_with_attempts():
    case = one("""<testsuite><testcase classname="A" name="t"><flakyFailure message="first"><stackTrace>st</stackTrace>
        </flakyFailure><flakyError message="second"/></testcase></testsuite>""")
    assert (case.status, case.flaky, case.attempts) == ("passed", True, 3)
    assert case.message == "first"


def test_surefire_rerun_failures_that_never_pass_are_failed_not_flaky():
    case = one("""<testsuite><testcase classname="A" name="t"><failure message="f1"/><rerunFailure message="f2"/>
        <rerunFailure message="f3"/></testcase></testsuite>""")
    assert (case.status, case.flaky, case.attempts) == ("failed", False, 3)


def test_rerun_error_last_decides_the_final_status():
    case = one(
        """<testsuite><testcase classname="A" name="t"><failure/><rerunError message="e"/></testcase></testsuite>"""
    )
    assert case.status == "error" and not case.flaky


def test_surefire_error_then_rerun_failures_is_an_error_as_surefire_counts_it():
    # Surefire 2.22.3 (corpus/reports/surefire, RefundTest.errorsThenFails) lists such a test under "Errors".
    case = one("""<testsuite><testcase classname="A" name="t"><error message="e1" type="IAE"/>
        <rerunFailure message="f2"/><rerunFailure message="f3"/></testcase></testsuite>""")
    assert (case.status, case.flaky, case.attempts) == ("error", False, 3)


@pytest.mark.parametrize(
    ("elements", "status", "flaky", "executions"),
    [
        # Outside the rerun dialects repeated elements are separate executions; any failing one fails the test.
        (["<failure/>", ""], "failed", False, [1, 1, 0, 0]),
        (["", "<failure/>"], "failed", False, [1, 1, 0, 0]),
        (["<failure/>", "<error/>"], "error", False, [0, 1, 1, 0]),
        (["", "", ""], "passed", False, [3, 0, 0, 0]),
        # A skipped element never overrides: it is a retried attempt (TestNG), before or after the one that ran.
        (["<skipped/>", ""], "passed", True, [1, 0, 0, 0]),
        (["", "<skipped/>"], "passed", True, [1, 0, 0, 0]),
        (["<skipped/>", "<skipped/>", "<failure/>"], "failed", False, [0, 1, 0, 0]),
        (["<skipped/>", "<skipped/>"], "skipped", False, [0, 0, 0, 2]),
    ],
)
def test_repeated_elements_outside_rerun_dialects(elements, status, flaky, executions):
    body = "".join(
        f'<testcase classname="A" name="t" time="{i}">{a}</testcase>' for i, a in enumerate(elements)
    )
    case = one(f"<testsuites><testsuite>{body}</testsuite></testsuites>")
    assert (case.status, case.flaky, case.attempts) == (status, flaky, len(elements))
    assert case.executions() == executions


@pytest.mark.parametrize(
    ("time", "expected"),
    [
        ("1.5", 1.5),
        ("-345345", None),
        ("abc", None),
        ("", None),
        ("nan", None),
        ("inf", None),
        ("1,234.5", 1234.5),
        (None, None),
    ],
)
def test_bad_durations_become_unknown(time, expected):
    attr = f' time="{time}"' if time is not None else ""
    assert one(f'<testsuite><testcase classname="A" name="t"{attr}/></testsuite>').duration == expected


def test_missing_attributes_give_positional_names_and_suite_scope():
    report = parse(
        "<testsuites><testsuite name='S'><testcase/><testcase><failure/></testcase></testsuite></testsuites>"
    )
    assert list(report.cases) == ["S::::<unnamed 1>", "S::::<unnamed 2>"]


def test_identity_normalisation():
    assert (
        normalise_identity(suite=" pkg/sub\\mod ", classname="", name=" test x ") == "pkg.sub.mod::::test x"
    )
    assert normalise_identity(suite="S", classname="A  B", name="a  b") == "S::A B::a  b"
    assert (
        normalise_identity(file=".\\test\\a.spec.js", suite="S", classname="C", name="t")
        == "test/a.spec.js::C::t"
    )
    long = normalise_identity(suite="x" * 2000, name="y")
    assert len(long) == 1000 and long != normalise_identity(suite="x" * 2001, name="y")


def test_huge_system_out_is_kept_as_a_bounded_excerpt():
    out = "x" * 3_000_000
    case = one(
        f'<testsuite><testcase classname="A" name="t"><failure message="m">trace</failure>'
        f"<system-out>{out}</system-out></testcase></testsuite>"
    )
    assert case.status == "failed"
    assert case.details.startswith("trace") and len(case.details) == DETAILS_CHARS


def test_requirement_properties_on_case_and_enclosing_suites():
    report = parse("""<testsuites><testsuite name="outer"><properties><property name="requirement" value="REQ-1"/>
        </properties><testsuite name="inner"><testcase classname="A" name="a"><properties>
        <property name="requirements" value="req-2, REQ-3"/></properties></testcase></testsuite>
        <testcase classname="B" name="b"/></testsuite></testsuites>""")
    assert report.cases["inner::A::a"].requirement_keys == {"REQ-1", "REQ-2", "REQ-3"}
    assert report.cases["outer::B::b"].requirement_keys == {"REQ-1"}


def test_suite_properties_written_after_the_testcases_still_apply():
    report = parse("""<testsuite name="s"><testcase classname="A" name="a"/>
        <properties><property name="requirement" value="REQ-9"/></properties></testsuite>""")
    assert report.cases["s::A::a"].requirement_keys == {"REQ-9"}


def test_requirement_keys_in_names():
    assert requirement_keys_in_name("test_refund_REQ_12 and PAY-3[x]") == {"REQ-12", "PAY-3"}
    assert requirement_keys_in_name("test_thing") == set()


@pytest.mark.parametrize(
    ("xml", "code"),
    [
        ('<?xml version="1.0"?>\n<!DOCTYPE testsuites SYSTEM "http://evil/x.dtd">\n<testsuites/>', "doctype"),
        ('<!-- c -->\n  <!ENTITY % p SYSTEM "file:///etc/passwd">', "doctype"),
        ("<testsuites><testsuite>", "malformed"),
        ("<html><body/></html>", "not_junit"),
        ("", "malformed"),
        ("<testsuites>&xxe;</testsuites>", "entity"),
    ],
)
def test_refusals_carry_a_code_and_position(xml, code):
    with pytest.raises(JUnitRefused) as exc:
        parse(xml)
    assert exc.value.code == code
    assert exc.value.line >= 1 and exc.value.column >= 1


def test_spool_upload_detects_gzip_and_hashes_the_decompressed_bytes():
    xml = b"<testsuites/>"
    plain = spool_upload(io.BytesIO(xml), limit=1000)
    packed = spool_upload(io.BytesIO(gzip.compress(xml)), limit=1000)
    assert plain.sha256 == packed.sha256 and packed.file.read() == xml


@pytest.mark.parametrize(("data", "gz"), [(b"x" * 2000, False), (gzip.compress(b"x" * 2000, mtime=0), True)])
def test_spool_upload_enforces_the_limit_on_raw_and_decompressed_bytes(data, gz):
    with pytest.raises(PayloadTooLarge):
        spool_upload(io.BytesIO(data), limit=1000, gzipped=gz)


def test_corrupt_gzip_is_refused():
    with pytest.raises(UploadRefused):
        spool_upload(io.BytesIO(b"\x1f\x8b" + b"garbage" * 10), limit=10_000)


def test_one_hundred_thousand_testcases_parse_in_one_pass():
    from tests.factories import junit_report

    report = parse(junit_report(100_000, fail_every=100, suites=10))
    counts = report.counts()
    assert counts["tests"] == 100_000 and counts["failed"] == 1000
