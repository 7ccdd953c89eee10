"""manage.py import_junit: the same ingestion from the command line, refusals reported, exit status."""

import gzip

import pytest
from django.core.management import CommandError, call_command

from testing import models as tm
from tests.factories import junit_report


def test_import_junit_ingests_plain_and_gzip_files(tmp_path, release, capsys):
    # given a plain and a gzip report
    plain = tmp_path / "a.xml"
    plain.write_bytes(junit_report(5, fail_every=2, prefix="a"))
    packed = tmp_path / "b.xml.gz"
    packed.write_bytes(gzip.compress(junit_report(3, prefix="b")))
    # when both are imported
    call_command("import_junit", str(plain), str(packed), release=release.pk, revision="r1", no_progress=True)
    # then two runs exist with their counts, and a repeat is reported as a duplicate
    out = capsys.readouterr().out
    assert "5 tests, 2 passed, 3 failed" in out and "3 tests, 3 passed" in out
    assert tm.TestRun.objects.count() == 2
    call_command("import_junit", str(plain), release=release.pk, revision="r1", no_progress=True)
    assert "duplicate" in capsys.readouterr().out and tm.TestRun.objects.count() == 2


def test_import_junit_refuses_bad_files_and_exits_nonzero(tmp_path, release):
    bad = tmp_path / "bad.xml"
    bad.write_text('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e "e">]>\n<testsuites/>')
    with pytest.raises(CommandError, match="1 of 1 file"):
        call_command("import_junit", str(bad), release=release.pk, no_progress=True)
    assert not tm.TestRun.objects.exists()


def test_import_junit_unknown_release(tmp_path, db):
    with pytest.raises(CommandError, match="No release"):
        call_command("import_junit", str(tmp_path / "x.xml"), release=999999, no_progress=True)
