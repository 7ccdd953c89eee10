"""Locust traffic mix for the QualityGov load benchmark; started by bench/load/run.py, which writes the plan.

The plan (JSON, path in QG_LOAD_PLAN) holds what run.py prepared in the database: one session cookie per simulated
user (demo user `qa`, who may triage, upload and evaluate in every demo project), an API token, the defects each
simulated user owns (so two users never move the same defect and no move is refused as a conflict), the active
releases with their gates, and test identities for the JUnit reports. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
import time
import uuid
from urllib.parse import urlparse

from locust import HttpUser, between, events, task

PLAN = json.loads(open(os.environ["QG_LOAD_PLAN"]).read())  # noqa: SIM115 - read once at import
_slots = itertools.count()
_slot_lock = threading.Lock()

# The next state of each move a QA lead makes, chosen so the defect keeps cycling through the contract's
# allowed moves for as long as the run lasts.
NEXT_MOVE = {
    "new": ("triaged", ""),
    "triaged": ("in_progress", ""),
    "in_progress": ("resolved", "fixed"),
    "resolved": ("reopened", ""),
    "verified": ("reopened", ""),
    "closed": ("reopened", ""),
    "reopened": ("in_progress", ""),
}
BOARD_FILTERS = [
    "status=open&sort=-created",
    "status=open&severity=blocker,critical",
    "status=new&assignee=none",
    "status=open&priority=highest,high&sort=severity",
    "status=resolved,verified&sort=-updated",
    "q=timeout",
    "status=open&environment=production",
]


@events.init.add_listener
def _only_loopback(environment, **_kwargs):
    host = urlparse(environment.host or "").hostname
    if host not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"This benchmark only sends traffic to 127.0.0.1, not to {host!r}.")


class QaLead(HttpUser):
    """A QA lead during a release: reads the board and dashboards, triages, uploads CI results, checks gates."""

    wait_time = between(1, 4)

    def on_start(self):
        with _slot_lock:
            self.slot = next(_slots)
        session = PLAN["sessions"][self.slot % len(PLAN["sessions"])]
        # The production settings mark the session cookie Secure; over plain loopback HTTP the cookie jar would
        # not send it, so it goes in the header, as a TLS-terminating proxy would pass it on.
        self.page_headers = {"Cookie": f"{PLAN['session_cookie']}={session}"}
        self.api_headers = {"Authorization": f"Token {PLAN['token']}"}
        owned = PLAN["defects_per_user"]
        self.owned = owned[self.slot % len(owned)]
        self.rng = random.Random(self.slot)

    # --- pages -------------------------------------------------------------------------------------------
    def page(self, url: str, name: str):
        with self.client.get(url, headers=self.page_headers, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif "/accounts/login/" in response.url:
                response.failure("redirected to the login page")

    @task(6)
    def triage_board(self):
        project = self.rng.choice(PLAN["projects"])
        self.page(f"/defects/?project={project}&{self.rng.choice(BOARD_FILTERS)}", "page: triage board")

    @task(5)
    def defect_detail(self):
        self.page(f"/defects/{self.rng.choice(PLAN['defect_keys'])}/", "page: defect detail")

    @task(3)
    def release_dashboard(self):
        release = self.rng.choice(PLAN["releases"])
        self.page(f"/releases/{release['id']}/dashboard/", "page: release dashboard")

    @task(2)
    def project_dashboard(self):
        self.page(f"/projects/{self.rng.choice(PLAN['projects'])}/dashboard/", "page: project dashboard")

    @task(1)
    def portfolio(self):
        self.page("/dashboards/", "page: portfolio")

    @task(1)
    def gates_index(self):
        self.page(f"/gates/?project={self.rng.choice(PLAN['projects'])}", "page: gates")

    @task(2)
    def release_gates(self):
        release = self.rng.choice(PLAN["releases"])
        self.page(f"/releases/{release['id']}/gates/", "page: release gates")

    @task(3)
    def healthz(self):
        with self.client.get("/healthz", name="/healthz", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")

    # --- API writes ---------------------------------------------------------------------------------------
    def api(self, method: str, url: str, name: str, expect: tuple[int, ...], **kwargs):
        headers = {**self.api_headers, **kwargs.pop("headers", {})}
        with self.client.request(
            method, url, headers=headers, name=name, catch_response=True, **kwargs
        ) as response:
            if response.status_code not in expect:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
                return None
            return response.json()

    @task(3)
    def move_defect(self):
        key = self.rng.choice(self.owned)
        defect = self.api("GET", f"/api/v1/defects/{key}/", "api: GET defect", (200,))
        if defect is None:
            return
        to, resolution = NEXT_MOVE[defect["status"]]
        self.api(
            "POST",
            f"/api/v1/defects/{key}/transitions/",
            "api: move defect",
            (201, 200),
            json={
                "to": to,
                "resolution": resolution,
                "comment": "load benchmark",
                "expected_version": defect["version"],
            },
        )

    @task(2)
    def assign_defect(self):
        key = self.rng.choice(self.owned)
        self.api(
            "PATCH",
            f"/api/v1/defects/{key}/",
            "api: assign defect",
            (200,),
            json={"assignee": self.rng.choice(PLAN["assignees"])},
        )

    @task(1)
    def upload_junit(self):
        release = self.rng.choice(PLAN["releases"])
        report = junit_report(self.rng, PLAN["test_identities"][release["project"]])
        self.api(
            "POST",
            f"/api/v1/releases/{release['id']}/junit/?revision={uuid.uuid4().hex[:12]}&environment=test",
            "api: JUnit upload",
            (201,),
            data=report.encode(),
            headers={"Content-Type": "application/xml"},
        )

    @task(1)
    def evaluate_gate(self):
        release = self.rng.choice([r for r in PLAN["releases"] if r["gates"]])
        self.api(
            "POST",
            f"/api/v1/gates/{self.rng.choice(release['gates'])}/evaluations/",
            "api: evaluate gate",
            (201,),
            json={"release": release["id"]},
        )


def junit_report(rng: random.Random, identities: list[str]) -> str:
    """A small pytest-style report: 40-80 known tests of the project, a few failures, one flaky rerun."""
    chosen = rng.sample(identities, min(len(identities), rng.randint(40, 80)))
    cases = []
    failures = 0
    for identity in chosen:
        # identity is "where::classname::name" (testing/junit.py); the demo's tests sit in the "pytest" suite
        _where, suite, name = identity.split("::", 2)
        time_s = f"{rng.uniform(0.001, 2.5):.3f}"
        roll = rng.random()
        if roll < 0.05:
            failures += 1
            body = '<failure message="AssertionError: expected 200, got 500">Traceback (most recent call last)</failure>'
        elif roll < 0.08:
            body = '<skipped message="needs the sandbox"/>'
        elif roll < 0.10:
            body = '<rerunFailure message="flaky: timeout">TimeoutError</rerunFailure>'
        else:
            body = ""
        cases.append(
            f'<testcase classname="{esc(suite)}" name="{esc(name)}" time="{time_s}">{body}</testcase>'
        )
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<testsuites>'
        f'<testsuite name="pytest" tests="{len(cases)}" failures="{failures}" errors="0" timestamp="{stamp}">'
        + "".join(cases)
        + "</testsuite></testsuites>"
    )


def esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
