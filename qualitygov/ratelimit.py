"""Failed-login rate limits per client IP and username together, and per client IP, kept in the Django cache.

A window opens at the first failure of a subject and lasts QUALITYGOV_LOGIN_WINDOW_SECONDS. Once
QUALITYGOV_LOGIN_MAX_FAILURES (10) failures for one username from one address fall into it, further attempts for
that username from that address (right password or not) are refused until the window ends; the owner logging in
from their own address is not affected by someone guessing their password elsewhere (a per-username lock let
anyone lock any account out). Once QUALITYGOV_LOGIN_MAX_FAILURES_PER_IP (50) failures from one address fall into
the window, every attempt from that address is refused (password spraying over many usernames). A successful
login clears the counter of its address and username, not the address's own.

The address is REMOTE_ADDR; X-Forwarded-For is read only when REMOTE_ADDR is a trusted proxy (see client_ip), so
a client that reaches the server directly cannot pick its own address by sending the header.
The cache is Redis when REDIS_URL is set (shared by every web process), the process's memory otherwise. When the
cache cannot be reached the limiter lets attempts through (logged) rather than lock everybody out.
"""

import hashlib
import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from .errors import DomainError

logger = logging.getLogger(__name__)
PREFIX = "qg:login-fail"


def now() -> float:
    """The clock (a function, so tests can move it)."""
    return time.time()


def max_failures() -> int:
    return int(getattr(settings, "QUALITYGOV_LOGIN_MAX_FAILURES", 10))


def max_failures_per_ip() -> int:
    return int(getattr(settings, "QUALITYGOV_LOGIN_MAX_FAILURES_PER_IP", 50))


def window_seconds() -> int:
    return int(getattr(settings, "QUALITYGOV_LOGIN_WINDOW_SECONDS", 300))


class RateLimited(DomainError):
    """Too many failed attempts. HTTP 429; `retry_after` is the number of seconds until the window ends."""

    status_code = 429

    def __init__(self, retry_after: int):
        minutes = max(1, math.ceil(retry_after / 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(
            f"Too many failed log-in attempts from this address. "
            f"Try again in {minutes} {unit} ({retry_after} seconds).",
            code="rate_limited",
        )
        self.retry_after = retry_after


DEFAULT_PROXY_NETWORKS = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
)


def _proxy_networks():
    raw = getattr(settings, "QUALITYGOV_TRUSTED_PROXY_NETWORKS", None) or DEFAULT_PROXY_NETWORKS
    if isinstance(raw, str):
        raw = raw.split(",")
    return [ipaddress.ip_network(n.strip(), strict=False) for n in raw if n.strip()]


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def client_ip(request) -> str:
    """The client's address for the limits.

    REMOTE_ADDR, unless QUALITYGOV_TRUSTED_PROXIES = N > 0 and REMOTE_ADDR is inside
    QUALITYGOV_TRUSTED_PROXY_NETWORKS (default: loopback and private networks, where a reverse proxy in front of
    gunicorn connects from): then the address the N-th proxy saw, the N-th entry of X-Forwarded-For from the right
    (the left-most entries are whatever the client sent). A request that reaches the server directly from outside
    those networks, or whose header holds no valid address there, is counted by REMOTE_ADDR: rotating a forged
    X-Forwarded-For gains nothing."""
    proxies = int(getattr(settings, "QUALITYGOV_TRUSTED_PROXIES", 0))
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    if proxies <= 0:
        return remote
    peer = _address(remote)
    if peer is None or not any(peer in net for net in _proxy_networks() if net.version == peer.version):
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if len(hops) >= proxies:
        client = _address(hops[-proxies])
        if client is not None:
            return str(client)
    return remote


@dataclass(frozen=True)
class Subject:
    scope: str  # "ip" or "pair" (address and username)
    value: str

    @property
    def limit(self) -> int:
        return max_failures_per_ip() if self.scope == "ip" else max_failures()

    @property
    def key(self) -> str:
        digest = hashlib.sha256(self.value.encode("utf-8")).hexdigest()[:32]
        return f"{PREFIX}:{self.scope}:{digest}"


def _pair(ip: str, username: str) -> Subject:
    return Subject("pair", f"{ip or 'unknown'}|{username.strip().lower()}")


def subjects(ip: str, username: str | None) -> list[Subject]:
    found = [Subject("ip", ip or "unknown")]
    if username:
        found.append(_pair(ip, username))
    return found


def _read(subject: Subject) -> tuple[int, float | None]:
    """(failures in the current window, window start) or (0, None) when no window is open."""
    data = cache.get_many([f"{subject.key}:start", f"{subject.key}:n"])
    start = data.get(f"{subject.key}:start")
    if start is None or now() >= start + window_seconds():
        return 0, None
    return int(data.get(f"{subject.key}:n") or 0), float(start)


def retry_after(ip: str, username: str | None) -> int:
    """Seconds until the caller may try again; 0 when not limited."""
    wait = 0.0
    try:
        for subject in subjects(ip, username):
            count, start = _read(subject)
            if start is not None and count >= subject.limit:
                wait = max(wait, start + window_seconds() - now())
    except Exception:  # the cache is down: do not lock everybody out
        logger.warning("login rate limit: cache unavailable, not enforcing", exc_info=True)
        return 0
    return math.ceil(wait) if wait > 0 else 0


def check(ip: str, username: str | None) -> None:
    """Raise RateLimited when the IP, or this username from this IP, used up its failures in the window."""
    wait = retry_after(ip, username)
    if wait:
        raise RateLimited(wait)


def register_failure(ip: str, username: str | None) -> None:
    ttl = window_seconds() + 60
    try:
        for subject in subjects(ip, username):
            _count, start = _read(subject)
            if start is None:
                cache.set_many({f"{subject.key}:start": now(), f"{subject.key}:n": 1}, ttl)
                continue
            try:
                cache.incr(f"{subject.key}:n")
            except ValueError:  # the counter expired between the read and the increment
                cache.set(f"{subject.key}:n", 1, ttl)
    except Exception:
        logger.warning("login rate limit: cache unavailable, failure not counted", exc_info=True)


def register_success(ip: str, username: str | None) -> None:
    """A successful login forgets the failures of this username from this address (the address's own count
    stays: one good account must not reset the counter of an address that is guessing others)."""
    if username:
        _delete([_pair(ip, username).key])


def reset(*, ip: str | None = None, username: str | None = None) -> None:
    """Forget the address's counter and, with both given, the pair's."""
    keys = []
    if ip:
        keys.append(Subject("ip", ip).key)
        if username:
            keys.append(_pair(ip, username).key)
    _delete(keys)


def _delete(keys: list[str]) -> None:
    try:
        cache.delete_many([f"{k}:{part}" for k in keys for part in ("start", "n")])
    except Exception:
        logger.warning("login rate limit: cache unavailable, reset skipped", exc_info=True)
