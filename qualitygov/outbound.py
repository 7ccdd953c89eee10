"""The one way QualityGov makes HTTP requests to addresses users typed in (webhooks, integrations).

A user who may register a webhook must not be able to make the worker talk to the machine it runs on or to the
private network behind it (SSRF). So every outbound request goes through :func:`post`, which

- checks the URL when it is registered (:func:`validate_url`): http(s) only, no user info, no host names that
  only mean something inside (``localhost``, ``*.localhost``, ``*.local``, ``*.internal``, ``*.localdomain``,
  names without a dot), and no address literal that is not public, whatever its spelling (``127.1``,
  ``2130706433``, ``0177.0.0.1``, ``0x7f.0.0.1``, ``[::ffff:127.0.0.1]``, ...);
- checks it again when it connects: the host name is resolved once, every address it resolves to must be public,
  and the connection goes to that very address (pinned), with the original name in the Host header and, for
  https, in SNI and the certificate check. A name that resolves to a public address at registration and to
  127.0.0.1 later (DNS rebinding) is therefore refused at delivery;
- never follows redirects (a 3xx is just an answer), bounds the time of every socket operation and of the
  whole exchange, and reads at most a few kilobytes of the answer.

Not public: loopback, private (RFC 1918, fc00::/7), link-local (169.254/16 with the cloud metadata address,
fe80::/10), carrier-grade NAT (100.64/10), multicast, unspecified (0.0.0.0, ::), reserved and documentation
ranges, and the IPv6 forms that embed such an IPv4 address (v4-mapped, v4-compatible, NAT64, 6to4, Teredo).

An operator who wants webhooks to reach an internal service lists it in ``QUALITYGOV_OUTBOUND_ALLOW`` (comma-
separated host names and/or networks: ``chat.corp.example,10.20.0.0/16``). A listed host name may resolve to
any address; an address inside a listed network is allowed whatever name led to it.
"""

import http.client
import ipaddress
import re
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from .errors import DomainError

DEFAULT_TIMEOUT = 5.0
MAX_RESPONSE_BYTES = 64 * 1024
INTERNAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".intranet", ".lan")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Any host made only of digits, dots and hex digits with 0x prefixes is an address in one of inet_aton's spellings.
NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*\.?$", re.IGNORECASE)


class OutboundRefused(DomainError):
    """The URL or the address it resolves to is not allowed as an outbound target."""

    def __init__(self, message: str, *, field: str | None = "url"):
        super().__init__(message, field=field, code="url_not_allowed")


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def _allow_list() -> tuple[set[str], list]:
    names: set[str] = set()
    networks = []
    raw = getattr(settings, "QUALITYGOV_OUTBOUND_ALLOW", ()) or ()
    if isinstance(raw, str):
        raw = raw.split(",")
    for entry in raw:
        entry = entry.strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            names.add(entry.rstrip("."))
    return names, networks


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for an address on the public internet (see the module docstring for what is not)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped
        if embedded is None and address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is None and address.sixtofour is not None:
            embedded = address.sixtofour
        if address.teredo is not None:
            return False
        # v4-compatible (::a.b.c.d, deprecated): the upper 96 bits are zero.
        if embedded is None and int(address) >> 32 == 0:
            return False
        if embedded is not None:
            return is_public(embedded)
    return bool(
        address.is_global
        and not address.is_multicast
        and not address.is_private
        and not address.is_loopback
        and not address.is_link_local
        and not address.is_reserved
        and not address.is_unspecified
    )


def _literal(host: str):
    """The address a host is written as, in any spelling the resolver accepts, or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    if NUMERIC_HOST.match(host):
        try:  # inet_aton takes 127.1, 2130706433, 0177.0.0.1 and 0x7f.0.0.1 like the C resolver does
            return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
        except OSError:
            raise OutboundRefused(f"'{host}' is not a valid address.") from None
    return None


def _address_allowed(address, networks) -> bool:
    return is_public(address) or any(address in net for net in networks if net.version == address.version)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written (lower case, no brackets)
    port: int
    path: str  # path and query

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def validate_url(url: str) -> Target:
    """Check a URL without connecting: scheme, form, host name and address literal. Raises OutboundRefused."""
    if not isinstance(url, str) or not url or len(url) > 2000:
        raise OutboundRefused("Enter a valid http(s) URL.")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise OutboundRefused("The URL must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundRefused("Enter a valid http(s) URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused("Enter a valid http(s) URL.")
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused("The URL must not contain a user name or password.")
    host = parts.hostname.lower()
    names, networks = _allow_list()
    target = Target(
        scheme=parts.scheme,
        host=host,
        port=port or (443 if parts.scheme == "https" else 80),
        path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
    )
    if host.rstrip(".") in names:
        return target
    address = _literal(host)
    if address is not None:
        if not _address_allowed(address, networks):
            raise OutboundRefused(f"{address} is not a public address; webhooks may only reach public hosts.")
        return target
    bare = host.rstrip(".")
    if bare in INTERNAL_NAMES or bare.endswith(INTERNAL_SUFFIXES) or "." not in bare:
        raise OutboundRefused(f"'{host}' is an internal host name; webhooks may only reach public hosts.")
    return target


def resolve(target: Target) -> str:
    """Resolve the host once and return the address to connect to; refuse when any address is not allowed."""
    names, networks = _allow_list()
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OSError(f"Cannot resolve '{target.host}': {exc}") from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise OSError(f"'{target.host}' has no address.")
    if target.host.rstrip(".") not in names:
        bad = [a for a in addresses if not _address_allowed(a, networks)]
        if bad:
            raise OutboundRefused(
                f"'{target.host}' resolves to {bad[0]}, which is not a public address; nothing was sent."
            )
    return str(addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, address: str, **kwargs):
        super().__init__(*args, **kwargs)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, address: str, **kwargs):
        super().__init__(*args, **kwargs)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # SNI and the certificate check use the host name from the URL, not the pinned address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = MAX_RESPONSE_BYTES,
) -> Answer:
    """POST `body` to `url` under the rules above. Returns the status and at most `max_bytes` of the answer.

    Raises OutboundRefused for a target that is not allowed (nothing is sent) and OSError (TimeoutError,
    ConnectionError, ssl.SSLError, http.client.HTTPException wrapped) when the exchange fails.
    """
    target = validate_url(url)
    address = resolve(target)
    deadline = time.monotonic() + timeout
    if target.scheme == "https":
        conn = _PinnedHTTPSConnection(
            target.host, target.port, timeout=timeout, address=address, context=ssl.create_default_context()
        )
    else:
        conn = _PinnedHTTPConnection(target.host, target.port, timeout=timeout, address=address)
    try:
        conn.putrequest("POST", target.path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", target.host_header)
        for name, value in {**headers, "Content-Length": str(len(body)), "Connection": "close"}.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        response = conn.getresponse()
        chunks, size = [], 0
        while size < max_bytes:
            if time.monotonic() > deadline:
                raise TimeoutError(f"The answer took longer than {timeout:g} s.")
            chunk = response.read1(min(8192, max_bytes - size)) if hasattr(response, "read1") else b""
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return Answer(status=response.status, body=b"".join(chunks))
    except http.client.HTTPException as exc:
        raise ConnectionError(f"Bad HTTP answer: {exc!r}") from exc
    finally:
        conn.close()
