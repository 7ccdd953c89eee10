"""Benchmark (run explicitly: pytest tests/gates/bench_gates.py -s): gate evaluation on a sizeable release."""

import os
import statistics
import subprocess
import sys
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from defects.models import Defect, DefectTransition
from gates import services
from gates.models import QualityGate
from releases.models import Role
from testing.models import Requirement, TestCase, TestResult, TestRun
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)


def _data(project, release, *, cases=2000, defects=300, requirements=200):
    run = TestRun.objects.create(release=release, name="bench")
    tcs = TestCase.objects.bulk_create(TestCase(project=project, title=f"tc {i}") for i in range(cases))
    TestResult.objects.bulk_create(
        TestResult(run=run, release=release, test_case=tc, status="failed" if i % 40 == 0 else "passed")
        for i, tc in enumerate(tcs)
    )
    reqs = Requirement.objects.bulk_create(
        Requirement(project=project, key=f"R-{i}", title=f"r{i}") for i in range(requirements)
    )
    for i, r in enumerate(reqs):
        f.in_scope(r, release)
        f.cover(r, *tcs[i * 5 : (i + 1) * 5])
    ds = Defect.objects.bulk_create(
        Defect(
            project=project,
            number=i + 1,
            key=f"{project.key}-{i + 1}",
            title=f"d{i}",
            found_in_release=release,
            severity="critical" if i % 50 == 0 else "major",
        )
        for i in range(defects)
    )
    DefectTransition.objects.bulk_create(
        DefectTransition(defect=d, from_status="", to_status="new", at=d.created_at) for d in ds
    )


def test_bench_gate_evaluation(project, release, make_member, live_server, rm):
    services.gates_create_defaults(project=project, by=None)
    _data(project, release)
    gate = QualityGate.objects.get(project=project, name="Release candidate -> Production")
    times = []
    for _ in range(7):
        t = time.perf_counter()
        with CaptureQueriesContext(connection) as ctx:
            ev = services.gate_evaluate(gate=gate, release=release, by=rm, via="bench")
        times.append(time.perf_counter() - t)
    token = Token.objects.create(user=make_member(Role.QA, username="bench-ci")).key
    cli = []
    for _ in range(5):
        t = time.perf_counter()
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "qualitygov_cli",
                "gate-check",
                "--gate",
                str(gate.pk),
                "--release",
                str(release.pk),
            ],
            env={**os.environ, "QUALITYGOV_URL": live_server.url, "QUALITYGOV_TOKEN": token},
            capture_output=True,
            text=True,
        )
        cli.append(time.perf_counter() - t)
    print(
        f"\n[{connection.vendor}] RC gate evaluation (2000 results, 300 defects, 200 requirements): "
        f"median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms, {len(ctx)} queries, "
        f"status {ev.status}; gate-check CLI round trip median {statistics.median(cli) * 1000:.0f} ms "
        f"(exit {r.returncode})"
    )
