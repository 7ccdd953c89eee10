"""Alert rules: record an Alert once per threshold crossing, notify the owner and the webhooks after commit.

A rule fires when a recompute finds the metric beyond its threshold and no alert of that rule and scope is active;
the alert is cleared (the rule re-armed) when a later recompute finds the metric back on the good side. No data
neither fires nor clears.
"""

import hashlib
import hmac
import json
import logging

from django.db import transaction
from django.utils import timezone

from notifications.kinds import Kind
from qualitygov import outbound
from qualitygov.errors import DomainError
from releases.access import Action, authorize
from releases.models import Project

from .models import (
    Alert,
    AlertDirection,
    AlertRule,
    DeliveryStatus,
    PayloadFormat,
    Webhook,
    WebhookDelivery,
    default_event_kinds,
)
from .registry import REGISTRY, definitions_for

logger = logging.getLogger(__name__)


def alerts_evaluate(*, project: Project, release, results: dict) -> list[Alert]:
    """Check the project's active rules for the metrics in `results` (one scope); returns the alerts fired.

    Expects to run inside the scope's recompute lock, so two recomputes cannot both fire the same crossing.
    """
    scope_release_id = release.pk if release is not None else None
    rules = list(AlertRule.objects.filter(project=project, active=True, metric__in=list(results)))
    if not rules:
        return []
    active = {
        a.rule_id: a
        for a in Alert.objects.filter(rule__in=rules, release_id=scope_release_id, cleared_at__isnull=True)
    }
    fired: list[Alert] = []
    now = timezone.now()
    for rule in rules:
        value = results[rule.metric].value
        breached = rule.breached_by(value)
        current = active.get(rule.pk)
        if breached and current is None:
            alert = Alert.objects.create(
                rule=rule,
                project=project,
                release_id=scope_release_id,
                metric=rule.metric,
                value=value,
                threshold=rule.threshold,
                direction=rule.direction,
                fired_at=now,
            )
            fired.append(alert)
            transaction.on_commit(lambda alert_id=alert.pk: _enqueue_notifications(alert_id))
        elif breached is False and current is not None:
            current.cleared_at = now
            current.save(update_fields=["cleared_at"])
    return fired


def _enqueue_notifications(alert_id: int) -> None:
    from .tasks import deliver_webhooks_for_alert, send_alert_email

    try:
        send_alert_email.delay(alert_id)
        deliver_webhooks_for_alert.delay(alert_id)
    except Exception:  # never let a broker problem surface in the recompute
        logger.warning("Could not enqueue notifications of alert %s", alert_id, exc_info=True)


def alert_payload(alert: Alert) -> dict:
    return {
        "alert_id": alert.pk,
        "project": alert.project.key,
        "release": alert.release.version if alert.release_id else None,
        "metric": alert.metric,
        "label": REGISTRY[alert.metric].label if alert.metric in REGISTRY else alert.metric,
        "unit": REGISTRY[alert.metric].unit if alert.metric in REGISTRY else "",
        "value": alert.value,
        "threshold": alert.threshold,
        "direction": alert.direction,
        "fired_at": alert.fired_at.isoformat(),
    }


def sign(*, secret: str, body: bytes) -> str:
    """The X-QualityGov-Signature header value: sha256=<hex HMAC-SHA256 of the body with the webhook secret>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def alert_email_send(*, alert_id: int) -> bool:
    """E-mail the alert to the rule owner (Django's mail backend); False when there is no one to tell."""
    from django.core.mail import send_mail

    alert = Alert.objects.select_related("rule__owner", "project", "release").get(pk=alert_id)
    owner = alert.rule.owner
    if alert.emailed_at or owner is None or not owner.email:
        return False
    data = alert_payload(alert)
    scope = f"{data['project']} {data['release']}" if data["release"] else data["project"]
    word = "above" if alert.direction == AlertDirection.ABOVE else "below"
    send_mail(
        # One line whatever older data holds (a header with a line break is refused by the mail library).
        subject=" ".join(f"[QualityGov] {scope}: {data['label']} {word} {alert.threshold:g}".split()),
        message=(
            f"{data['label']} is {alert.value:g}, {word} the threshold {alert.threshold:g}, "
            f"for {scope} (at {data['fired_at']}).\nYou are the owner of this alert rule."
        ),
        from_email=None,
        recipient_list=[owner.email],
    )
    Alert.objects.filter(pk=alert.pk).update(emailed_at=timezone.now())
    return True


class WebhookFailed(Exception):
    """A webhook answered with an error or could not be reached; the task retries it with backoff."""


def webhook_deliver(*, alert_id: int, webhook_id: int, timeout: float = 5.0) -> WebhookDelivery:
    """POST the alert to the webhook (QualityGov JSON or a Slack-style message, as the webhook's format says) with
    its HMAC signature through qualitygov.outbound (public addresses only, pinned, no redirects). Raises
    WebhookFailed when a retry may help (unreachable, timeout, 4xx/5xx); a refused address or a redirect is
    recorded as failed and not retried."""
    alert = Alert.objects.select_related("project", "release").get(pk=alert_id)
    webhook = Webhook.objects.get(pk=webhook_id)
    delivery, _ = WebhookDelivery.objects.get_or_create(alert=alert, webhook=webhook)
    if delivery.status == DeliveryStatus.DELIVERED:
        return delivery
    data = alert_payload(alert)
    return webhook_post(
        delivery=delivery,
        webhook=webhook,
        data=data,
        text=alert_chat_text(data),
        event="alert",
        timeout=timeout,
    )


def alert_chat_text(data: dict) -> str:
    """The alert as one chat line (Slack mrkdwn)."""
    scope = f"{data['project']} {data['release']}" if data["release"] else data["project"]
    word = "above" if data["direction"] == AlertDirection.ABOVE else "below"
    unit = f" {data['unit']}" if data["unit"] in ("%", "hours", "ms") else ""
    return chat_escape(
        f"[QualityGov] {scope}: {data['label']} is {data['value']:g}{unit}, {word} the threshold {data['threshold']:g}"
    )


def chat_escape(text: str) -> str:
    """Slack's three control characters in message text (&, <, >), so user text cannot forge links or mentions."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload_body(*, webhook: Webhook, data: dict, text: str) -> bytes:
    """The request body in the webhook's format: QualityGov's JSON, or {"text": ...} for Slack and its kin."""
    if webhook.payload_format == PayloadFormat.SLACK:
        return json.dumps({"text": text}).encode()
    return json.dumps(data, sort_keys=True).encode()


def webhook_post(
    *, delivery: WebhookDelivery, webhook: Webhook, data: dict, text: str, event: str, timeout: float
) -> WebhookDelivery:
    """Send one delivery (an alert's or a notification event's) in the webhook's format, signed, and record the
    answer; raises WebhookFailed where a retry may help (see webhook_deliver)."""
    body = payload_body(webhook=webhook, data=data, text=text)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "QualityGov-Webhook/1",
        "X-QualityGov-Event": event,
        "X-QualityGov-Signature": sign(secret=webhook.secret, body=body),
    }
    delivery.attempts += 1
    fields = ["attempts", "response_code", "status", "last_error", "updated_at"]
    try:
        answer = outbound.post(webhook.url, body=body, headers=headers, timeout=timeout)
    except outbound.OutboundRefused as exc:
        delivery.status, delivery.response_code, delivery.last_error = (
            DeliveryStatus.FAILED,
            None,
            exc.message,
        )
        delivery.save(update_fields=fields)
        logger.warning("Webhook %s refused: %s", webhook.pk, exc.message)
        return delivery
    except OSError as exc:
        delivery.status, delivery.response_code = DeliveryStatus.FAILED, None
        delivery.last_error = str(exc)[:1000] or type(exc).__name__
        delivery.save(update_fields=fields)
        raise WebhookFailed(delivery.last_error) from exc
    delivery.response_code = answer.status
    if 200 <= answer.status < 300:
        delivery.status, delivery.last_error = DeliveryStatus.DELIVERED, ""
        delivery.save(update_fields=fields)
        return delivery
    delivery.status = DeliveryStatus.FAILED
    if 300 <= answer.status < 400:
        delivery.last_error = f"HTTP {answer.status}: redirects are not followed."
        delivery.save(update_fields=fields)
        return delivery
    delivery.last_error = f"HTTP {answer.status}"
    delivery.save(update_fields=fields)
    raise WebhookFailed(delivery.last_error)


# --- Managing rules and webhooks ----------------------------------------------------------------------------------


def _check_metric(metric: str, project) -> None:
    definitions = definitions_for(project)
    if metric not in definitions or definitions[metric].is_series:
        raise DomainError(f"Unknown metric '{metric}'.", field="metric", code="unknown_metric")


@transaction.atomic
def alert_rule_create(
    *, project: Project, metric: str, threshold: float, direction: str, by, owner=None, webhooks=()
) -> AlertRule:
    """Create an alert rule (`by` needs Action.MANAGE_GATES)."""
    authorize(by, project, Action.MANAGE_GATES)
    _check_metric(metric, project)
    if direction not in AlertDirection.values:
        raise DomainError("direction must be 'above' or 'below'.", field="direction")
    hooks = list(webhooks)
    if any(h.project_id != project.pk for h in hooks):
        raise DomainError("Webhooks must belong to the same project.", field="webhooks")
    rule = AlertRule.objects.create(
        project=project,
        metric=metric,
        threshold=float(threshold),
        direction=direction,
        owner=owner,
        created_by=by,
    )
    rule.webhooks.set(hooks)
    return rule


@transaction.atomic
def alert_rule_update(*, rule: AlertRule, data: dict, by) -> AlertRule:
    """Change threshold, direction, owner, active flag or webhooks of a rule; a changed condition re-arms it
    (`by` needs Action.MANAGE_GATES)."""
    authorize(by, rule.project_id, Action.MANAGE_GATES)
    changed_condition = False
    for field in ("metric", "threshold", "direction", "owner", "active"):
        if field in data and getattr(rule, field) != data[field]:
            if field == "metric":
                _check_metric(data[field], rule.project)
            if field == "direction" and data[field] not in AlertDirection.values:
                raise DomainError("direction must be 'above' or 'below'.", field="direction")
            setattr(rule, field, data[field])
            changed_condition |= field in ("metric", "threshold", "direction")
    rule.save()
    if "webhooks" in data:
        hooks = list(data["webhooks"])
        if any(h.project_id != rule.project_id for h in hooks):
            raise DomainError("Webhooks must belong to the same project.", field="webhooks")
        rule.webhooks.set(hooks)
    if changed_condition:
        rule.alerts.filter(cleared_at__isnull=True).update(cleared_at=timezone.now())
    return rule


def alert_rule_delete(*, rule: AlertRule, by) -> None:
    """Delete an alert rule (`by` needs Action.MANAGE_GATES)."""
    authorize(by, rule.project_id, Action.MANAGE_GATES)
    rule.delete()


def _check_webhook_fields(*, payload_format: str, event_kinds: list[str]) -> list[str]:
    if payload_format not in PayloadFormat.values:
        raise DomainError(
            f"payload_format must be one of {', '.join(PayloadFormat.values)}.", field="payload_format"
        )
    kinds = list(dict.fromkeys(event_kinds))
    unknown = [k for k in kinds if k not in Kind.values]
    if unknown:
        raise DomainError(f"Unknown notification kind(s): {', '.join(unknown)}.", field="event_kinds")
    return kinds


def webhook_create(
    *,
    project: Project,
    name: str,
    url: str,
    secret: str,
    by,
    payload_format: str = PayloadFormat.JSON,
    event_kinds: list[str] | None = None,
) -> Webhook:
    """Register a webhook: an http(s) URL to a public host (qualitygov.outbound.validate_url; checked again at
    delivery), the body format (signed JSON or Slack-style text) and the notification kinds it receives besides
    the alerts of its rules (None = the governance events, notifications.kinds.WEBHOOK_DEFAULT_KINDS). `by` needs
    Action.MANAGE_GATES."""
    authorize(by, project, Action.MANAGE_GATES)
    outbound.validate_url(url)
    if len(secret or "") < 16:
        raise DomainError("The secret must be at least 16 characters.", field="secret")
    kinds = _check_webhook_fields(
        payload_format=payload_format,
        event_kinds=default_event_kinds() if event_kinds is None else event_kinds,
    )
    return Webhook.objects.create(
        project=project,
        name=name or url,
        url=url,
        secret=secret,
        payload_format=payload_format,
        event_kinds=kinds,
    )


WEBHOOK_EDITABLE = ("name", "url", "secret", "active", "payload_format", "event_kinds")


def webhook_update(*, webhook: Webhook, data: dict, by) -> Webhook:
    """Change a webhook's name, URL (public targets only, as at registration), secret, active flag, payload format
    or notification kinds; fields not in `data` keep their value. Deliveries already made are unchanged. `by`
    needs Action.MANAGE_GATES."""
    authorize(by, webhook.project_id, Action.MANAGE_GATES)
    unknown = sorted(set(data) - set(WEBHOOK_EDITABLE))
    if unknown:
        raise DomainError(f"These fields cannot be changed: {', '.join(unknown)}.", field=unknown[0])
    if "url" in data:
        outbound.validate_url(data["url"])
    if "secret" in data and len(data["secret"] or "") < 16:
        raise DomainError("The secret must be at least 16 characters.", field="secret")
    if "name" in data and not (data["name"] or "").strip():
        data = {**data, "name": data.get("url", webhook.url)}
    kinds = _check_webhook_fields(
        payload_format=data.get("payload_format", webhook.payload_format),
        event_kinds=data.get("event_kinds", webhook.event_kinds or []),
    )
    for field in WEBHOOK_EDITABLE:
        if field in data:
            setattr(webhook, field, kinds if field == "event_kinds" else data[field])
    webhook.save(update_fields=[f for f in WEBHOOK_EDITABLE if f in data])
    return webhook
