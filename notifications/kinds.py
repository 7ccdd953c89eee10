"""The kinds of notification QualityGov sends: a key, a label people read, and what triggers it.

Producers (defects, gates) publish these keys through ``notifications.services.publish``; the preferences page
offers one switch per kind and channel. A kind listed here is all the notifications app needs to know: it never
imports the apps that produce the events.
"""

from dataclasses import dataclass

from django.db import models


class Kind(models.TextChoices):
    DEFECT_ASSIGNED = "defect_assigned", "Defect assigned to me"
    DEFECT_RESOLVED = "defect_resolved", "Defect I reported resolved (to verify)"
    GATE_FAILED = "gate_failed", "Gate evaluation turned failed"
    NO_GO_RECORDED = "no_go_recorded", "No-go decision recorded"
    DECISION_SUSPENDED = "decision_suspended", "Go decision suspended"
    WAIVER_EXPIRING = "waiver_expiring", "Waiver expiring within 3 days"


@dataclass(frozen=True)
class KindInfo:
    key: str
    label: str
    when: str


KIND_INFO: dict[str, KindInfo] = {
    info.key: info
    for info in (
        KindInfo(Kind.DEFECT_ASSIGNED, Kind.DEFECT_ASSIGNED.label, "someone else assigns a defect to you"),
        KindInfo(
            Kind.DEFECT_RESOLVED,
            Kind.DEFECT_RESOLVED.label,
            "someone else resolves a defect you reported, so you can verify the fix",
        ),
        KindInfo(
            Kind.GATE_FAILED,
            Kind.GATE_FAILED.label,
            "an evaluation of a gate fails where the previous one of that gate and release did not",
        ),
        KindInfo(Kind.NO_GO_RECORDED, Kind.NO_GO_RECORDED.label, "a release manager records a no-go"),
        KindInfo(
            Kind.DECISION_SUSPENDED,
            Kind.DECISION_SUSPENDED.label,
            "the evidence no longer supports a go decision (key condition failed, uncovered failure, waiver expired)",
        ),
        KindInfo(
            Kind.WAIVER_EXPIRING,
            Kind.WAIVER_EXPIRING.label,
            "a waiver of a decision in force expires within 3 days (once per waiver)",
        ),
    )
}

# Kinds a new webhook receives unless its owner picks others: the governance events of the release, not the
# personal defect notices.
WEBHOOK_DEFAULT_KINDS: tuple[str, ...] = (
    Kind.GATE_FAILED,
    Kind.NO_GO_RECORDED,
    Kind.DECISION_SUSPENDED,
    Kind.WAIVER_EXPIRING,
)


class Channel(models.TextChoices):
    IN_APP = "in_app", "In the app"
    EMAIL = "email", "E-mail"
