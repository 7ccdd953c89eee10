"""The demo portfolio's fixed inputs: users, projects, release plan, the words defects and incidents are made of,
and the pace of a defect's walk over the allowed moves (checked against the contract at import)."""

from defects.models import ALLOWED_TRANSITIONS, DefectStatus
from releases.models import ChangeClass, ReleaseStatus, Role

DEMO_PASSWORD = "qualitygov-demo"  # noqa: S105 - documented local demo password
BATCH = 2000

# Demo users: username -> role they hold in every demo project.
DEMO_USERS: dict[str, str] = {
    "admin": Role.ADMIN,
    "qa": Role.QA,
    "manager": Role.MANAGER,
    "rm": Role.RELEASE_MANAGER,
    "viewer": Role.VIEWER,
}

PROJECTS = [
    {
        "key": "PAY",
        "name": "Payments",
        "description": "Card payments, refunds and payouts for the web shop and the mobile apps.",
        "major": 2,
        "package": "payments",
        "components": ["checkout", "refunds", "payouts", "fraud", "ledger", "api"],
        "devs": ["pay.anna", "pay.bilal", "pay.chen"],
    },
    {
        "key": "WEB",
        "name": "Storefront",
        "description": "The customer-facing web shop: catalogue, search, basket and account pages.",
        "major": 5,
        "package": "storefront",
        "components": ["catalogue", "search", "basket", "account", "i18n", "ui"],
        "devs": ["web.dana", "web.emil", "web.farah"],
    },
    {
        "key": "OPS",
        "name": "Platform",
        "description": "Shared platform: deployment pipeline, identity, messaging and observability.",
        "major": 1,
        "package": "platform",
        "components": ["deploy", "identity", "messaging", "metrics", "storage", "scheduler"],
        "devs": ["ops.goran", "ops.hana", "ops.ivo"],
    },
]
DEMO_KEYS = tuple(p["key"] for p in PROJECTS)

SYMPTOMS = [
    "times out",
    "returns HTTP 500",
    "shows a blank page",
    "loses the last entry",
    "double-counts the amount",
    "ignores the locale",
    "logs a stack trace",
    "rejects valid input",
    "accepts an expired token",
    "renders misaligned on mobile",
    "leaks a database connection",
    "rounds to the wrong cent",
    "sends the e-mail twice",
    "crashes under load",
    "shows stale data after refresh",
]
TRIGGERS = [
    "after a retry",
    "for a user with two accounts",
    "when the cache is cold",
    "on the first request of the day",
    "with more than 100 items",
    "during a deploy",
    "when the upstream is slow",
    "with a non-ASCII name",
    "after a session expiry",
    "on Safari",
    "in the nightly batch",
    "with a partial refund",
]
FEATURES = [
    "list and filter",
    "create and validate",
    "audit trail",
    "export to CSV",
    "retry on failure",
    "role-based access",
    "localised messages",
    "bulk update",
    "webhook notification",
    "rate limiting",
    "idempotent submission",
    "reconciliation report",
    "search by keyword",
    "pagination",
    "timeouts",
]
FAILURE_MESSAGES = [
    "AssertionError: expected status 200, got 500",
    "AssertionError: assert 41.99 == 42.0",
    "TimeoutError: operation did not finish within 30s",
    "KeyError: 'currency'",
    "ConnectionRefusedError: [Errno 111] Connection refused",
    "AssertionError: element '#submit' not visible after 10s",
]
INCIDENT_TITLES = [
    "Elevated error rate on {c}",
    "{c} unavailable for part of the users",
    "Slow responses from {c}",
    "Data inconsistency in {c}",
    "Failed deploys blocked {c}",
]

# Release plan per project: (version suffix, days before now it reached production or None, status,
# change class, index of the release it hotfixes or None). Spread over the last six months.
RELEASE_PLAN = [
    ("0.0", 170, ReleaseStatus.RELEASED, ChangeClass.MAJOR, None),
    ("1.0", 140, ReleaseStatus.RELEASED, ChangeClass.MINOR, None),
    ("1.1", 133, ReleaseStatus.RELEASED, ChangeClass.HOTFIX, 1),
    ("2.0", 110, ReleaseStatus.RELEASED, ChangeClass.MINOR, None),
    ("3.0", 80, ReleaseStatus.RELEASED, ChangeClass.MINOR, None),
    ("3.5", None, ReleaseStatus.CANCELLED, ChangeClass.PATCH, None),
    ("4.0", 52, ReleaseStatus.RELEASED, ChangeClass.MINOR, None),
    ("4.1", 46, ReleaseStatus.RELEASED, ChangeClass.HOTFIX, 6),
    ("5.0", 21, ReleaseStatus.RELEASED, ChangeClass.MINOR, None),
    ("6.0", None, ReleaseStatus.READY, ChangeClass.MINOR, None),
    ("7.0", None, ReleaseStatus.TESTING, ChangeClass.MINOR, None),
    ("8.0", None, ReleaseStatus.PLANNING, ChangeClass.MAJOR, None),
]
# For releases not yet in production: (days ago testing started, days until planned date).
ACTIVE_WINDOWS = {
    ReleaseStatus.READY: (28, 3),
    ReleaseStatus.TESTING: (14, 20),
    ReleaseStatus.PLANNING: (4, 45),
    ReleaseStatus.CANCELLED: (95, -70),
}

# Weighted next moves of the defect walk. Every target is checked against ALLOWED_TRANSITIONS.
NEXT_WEIGHTS: dict[str, list[tuple[str, float]]] = {
    DefectStatus.NEW: [
        (DefectStatus.TRIAGED, 0.80),
        (DefectStatus.RESOLVED, 0.04),
        (DefectStatus.CLOSED, 0.16),
    ],
    DefectStatus.TRIAGED: [
        (DefectStatus.IN_PROGRESS, 0.86),
        (DefectStatus.RESOLVED, 0.04),
        (DefectStatus.CLOSED, 0.10),
    ],
    DefectStatus.IN_PROGRESS: [(DefectStatus.RESOLVED, 1.0)],
    DefectStatus.RESOLVED: [(DefectStatus.VERIFIED, 0.88), (DefectStatus.REOPENED, 0.12)],
    DefectStatus.VERIFIED: [(DefectStatus.CLOSED, 0.93), (DefectStatus.REOPENED, 0.07)],
    DefectStatus.CLOSED: [(DefectStatus.REOPENED, 0.04)],
    DefectStatus.REOPENED: [
        (DefectStatus.IN_PROGRESS, 0.70),
        (DefectStatus.TRIAGED, 0.20),
        (DefectStatus.RESOLVED, 0.10),
    ],
}
# Hours spent in a state before the next move (min, max).
DWELL_HOURS: dict[str, tuple[float, float]] = {
    DefectStatus.NEW: (1, 60),
    DefectStatus.TRIAGED: (2, 120),
    DefectStatus.IN_PROGRESS: (4, 180),
    DefectStatus.RESOLVED: (2, 96),
    DefectStatus.VERIFIED: (1, 72),
    DefectStatus.CLOSED: (24, 400),
    DefectStatus.REOPENED: (2, 72),
}

for _state, _moves in NEXT_WEIGHTS.items():
    for _to, _w in _moves:
        assert _to in ALLOWED_TRANSITIONS[_state], (
            f"demo walk uses a move the contract forbids: {_state}->{_to}"
        )
