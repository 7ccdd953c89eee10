"""Webhooks cannot reach the machine QualityGov runs on nor its private network (issue 12, SSRF).

A real HTTP listener runs on 127.0.0.1 for each test. Every refused address form is (1) refused when a project
admin registers it over the API and on the alert-rule page, and (2) refused again at delivery when the row got into
the database some other way (an old row, the Django admin, DNS that changed since): the listener receives
nothing. A redirect from an allowed first hop to the loopback listener is not followed.
"""

from __future__ import annotations

import socket
import threading
from unittest import mock

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from metrics import alerts
from metrics.models import Alert, Webhook, WebhookDelivery
from qualitygov import outbound
from releases.models import Role

from ..httplistener import listening

pytestmark = pytest.mark.django_db


def refused_urls(port: int) -> list[str]:
    """Every spelling of a non-public target the review tried, and a few more."""
    hosts = [
        "127.0.0.1",
        "localhost",
        "LOCALHOST.",
        "app.localhost",
        "[::1]",
        "0.0.0.0",  # noqa: S104 - a URL host, nothing binds to it
        "[::]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[::127.0.0.1]",
        "[64:ff9b::7f00:1]",
        "[2002:7f00:1::]",
        "2130706433",
        "0177.0.0.1",
        "0x7f.0.0.1",
        "0x7f000001",
        "127.1",
        "169.254.169.254",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "100.64.0.1",
        "224.0.0.1",
        "metadata.google.internal",
        "printer.local",
        "intranet",
        "[fc00::1]",
        "[fd00:ec2::254]",
        "[fe80::1]",
        "[ff02::1]",
    ]
    return [f"http://{host}:{port}/hook" for host in hosts] + [
        f"https://{host}:{port}/hook" for host in hosts[:6]
    ]


def _alert(world) -> Alert:
    rule = world.alert_rules[0]
    return Alert.objects.create(
        rule=rule,
        project=world.project,
        release=world.releases[0],
        metric=rule.metric,
        value=99,
        threshold=1,
        direction="above",
    )


def _api(world) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[Role.ADMIN]}")
    return client


def test_registration_refuses_every_non_public_address_form_and_nothing_arrives(world_a):
    client = _api(world_a)
    with listening() as listener:
        urls = refused_urls(listener.port)
        for url in urls:
            response = client.post(
                f"/api/v1/projects/{world_a.key}/webhooks/", {"url": url, "secret": "s" * 32}, format="json"
            )
            assert response.status_code == 400, (url, response.content)
        assert not Webhook.objects.filter(url__in=urls).exists()
        # The page form says the same.
        client.force_login(world_a.users[Role.ADMIN])
        page = client.post(
            f"/projects/{world_a.key}/alerts/",
            {"form": "webhook", "name": "x", "url": urls[0], "secret": "s" * 32},
        )
        assert page.status_code == 400
        assert b"not a public address" in page.content
        assert not Webhook.objects.filter(url=urls[0]).exists()
    assert listener.requests == []


def test_delivery_refuses_every_non_public_address_form_already_in_the_database(world_a):
    alert = _alert(world_a)
    with listening() as listener:
        for url in refused_urls(listener.port):
            hook = Webhook.objects.create(project=world_a.project, name="h", url=url, secret="s" * 32)
            delivery = alerts.webhook_deliver(alert_id=alert.pk, webhook_id=hook.pk)  # no retry: not raised
            assert delivery.status == "failed", url
            assert "not a public address" in delivery.last_error or "internal host" in delivery.last_error, (
                url,
                delivery.last_error,
            )
    assert listener.requests == []


def test_firing_an_alert_through_the_task_sends_nothing_to_loopback(world_a):
    from metrics.tasks import deliver_webhooks_for_alert

    with listening() as listener:
        hook = Webhook.objects.create(
            project=world_a.project, name="h", url=f"http://127.0.0.1:{listener.port}/", secret="s" * 32
        )
        world_a.alert_rules[0].webhooks.set([hook])
        alert = _alert(world_a)
        deliver_webhooks_for_alert.apply(args=(alert.pk,)).get()
    assert listener.requests == []
    assert WebhookDelivery.objects.get(webhook=hook).status == "failed"


def test_a_name_that_now_resolves_to_loopback_is_refused_at_delivery(world_a):
    """DNS rebinding: registered while public, resolving to 127.0.0.1 when the worker connects."""
    alert = _alert(world_a)
    real = socket.getaddrinfo

    def rebound(host, port, *args, **kwargs):
        if host == "hooks.rebind.example":
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    with listening() as listener:
        url = f"http://hooks.rebind.example:{listener.port}/hook"
        outbound.validate_url(url)  # a public-looking name passes registration
        hook = Webhook.objects.create(project=world_a.project, name="h", url=url, secret="s" * 32)
        with mock.patch("socket.getaddrinfo", rebound):
            delivery = alerts.webhook_deliver(alert_id=alert.pk, webhook_id=hook.pk)
    assert listener.requests == []
    assert delivery.status == "failed"
    assert "resolves to 127.0.0.1" in delivery.last_error


def test_redirect_to_loopback_is_not_followed(world_a):
    """The first hop is let through by the allow-list (only so the test can serve it locally); its 302 points at
    a second loopback listener, which must receive nothing."""
    alert = _alert(world_a)
    with listening() as target:
        for status in (301, 302, 303, 307, 308):
            with (
                listening(status=status, location=f"http://127.0.0.1:{target.port}/internal") as first,
                override_settings(QUALITYGOV_OUTBOUND_ALLOW=["127.0.0.1/32"]),
            ):
                hook = Webhook.objects.create(
                    project=world_a.project,
                    name=f"r{status}",
                    url=f"http://127.0.0.1:{first.port}/",
                    secret="s" * 32,
                )
                delivery = alerts.webhook_deliver(alert_id=alert.pk, webhook_id=hook.pk)
            assert len(first.requests) == 1
            assert (delivery.status, delivery.response_code) == ("failed", status)
            assert "redirects are not followed" in delivery.last_error
    assert target.requests == []


def test_connection_is_pinned_to_the_resolved_address_with_the_original_host_header(world_a):
    """Resolve once, connect to that address: the name is looked up a single time and the request carries it."""
    alert = _alert(world_a)
    real = socket.getaddrinfo
    lookups = []

    def fake(host, port, *args, **kwargs):
        if host == "hooks.pinned.example":
            lookups.append(host)
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    with listening() as listener, override_settings(QUALITYGOV_OUTBOUND_ALLOW="127.0.0.0/8"):
        hook = Webhook.objects.create(
            project=world_a.project,
            name="h",
            url=f"http://hooks.pinned.example:{listener.port}/in?x=1",
            secret="s" * 32,
        )
        with mock.patch("socket.getaddrinfo", fake):
            delivery = alerts.webhook_deliver(alert_id=alert.pk, webhook_id=hook.pk)
    assert delivery.status == "delivered"
    assert lookups == ["hooks.pinned.example"]
    [request] = listener.requests
    assert request["path"] == "/in?x=1"
    assert request["headers"]["Host"] == f"hooks.pinned.example:{listener.port}"
    assert request["headers"]["X-QualityGov-Signature"].startswith("sha256=")


def test_answer_size_and_time_are_bounded(world_a):
    """A listener that sends an endless answer is cut off after MAX_RESPONSE_BYTES; one that never answers
    times out."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.recv(65536)
            if conn.getsockname()[1] == port and not stop.is_set():
                try:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n")
                    for _ in range(200):
                        conn.sendall(b"x" * 65536)
                except OSError:
                    pass
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with override_settings(QUALITYGOV_OUTBOUND_ALLOW=["127.0.0.1"]):
            answer = outbound.post(f"http://127.0.0.1:{port}/", body=b"{}", headers={}, timeout=5)
        assert answer.status == 200
        assert len(answer.body) == outbound.MAX_RESPONSE_BYTES
    finally:
        stop.set()
        server.close()

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        with (
            override_settings(QUALITYGOV_OUTBOUND_ALLOW=["127.0.0.1"]),
            pytest.raises(TimeoutError),
        ):
            outbound.post(f"http://127.0.0.1:{silent.getsockname()[1]}/", body=b"{}", headers={}, timeout=0.5)
    finally:
        silent.close()


@pytest.mark.parametrize(
    "address,public",
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("::1", False),
        ("::ffff:8.8.8.8", True),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::a9fe:a9fe", False),
        ("2001::1", False),  # Teredo
        ("fe80::1", False),
        ("fd12:3456::1", False),
        ("ff0e::1", False),
        ("239.255.255.250", False),
        ("240.0.0.1", False),
        ("198.51.100.7", False),  # documentation
        ("0.0.0.0", False),  # noqa: S104
    ],
)
def test_is_public(address, public):
    import ipaddress

    assert outbound.is_public(ipaddress.ip_address(address)) is public


def test_allow_list_lets_an_operator_reach_an_internal_target_by_name_or_network():
    with override_settings(QUALITYGOV_OUTBOUND_ALLOW="chat.corp.internal, 10.20.0.0/16"):
        outbound.validate_url("https://chat.corp.internal/hooks/1")
        outbound.validate_url("http://10.20.3.4:8080/x")
        with pytest.raises(outbound.OutboundRefused):
            outbound.validate_url("http://10.21.0.1/x")
        with pytest.raises(outbound.OutboundRefused):
            outbound.validate_url("http://metadata.google.internal/")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "http://user:pw@example.com/",
        "http://exa mple.com/",
        "http://example.com:99999/",
        "",
    ],
)
def test_malformed_urls_are_refused(url):
    with pytest.raises(outbound.OutboundRefused):
        outbound.validate_url(url)
