"""Failed-login rate limits per client IP and per username, kept in the Django cache.

A window opens at the first failure of an IP (or a username) and lasts QUALITYGOV_LOGIN_WINDOW_SECONDS; once
QUALITYGOV_LOGIN_MAX_FAILURES failures fall into it, every attempt for that IP or username (right password or
not) is refused until the window ends. A successful login clears the username's counter, not the IP's.
The cache is Redis when REDIS_URL is set (shared by every web process), the process's memory otherwise. When the
cache cannot be reached the limiter lets attempts through (logged) rather than lock everybody out.
"""

import hashlib
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


def window_seconds() -> int:
    return int(getattr(settings, "QUALITYGOV_LOGIN_WINDOW_SECONDS", 300))


class RateLimited(DomainError):
    """Too many failed attempts. HTTP 429; `retry_after` is the number of seconds until the window ends."""

    status_code = 429

    def __init__(self, retry_after: int):
        minutes = max(1, math.ceil(retry_after / 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(
            f"Too many failed log-in attempts from this address or for this user. "
            f"Try again in {minutes} {unit} ({retry_after} seconds).",
            code="rate_limited",
        )
        self.retry_after = retry_after


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or with QUALITYGOV_TRUSTED_PROXIES = N > 0 the address the N-th
    trusted proxy (counted from the right of X-Forwarded-For) saw."""
    proxies = int(getattr(settings, "QUALITYGOV_TRUSTED_PROXIES", 0))
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    if proxies > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return remote


@dataclass(frozen=True)
class Subject:
    scope: str  # "ip" or "user"
    value: str

    @property
    def key(self) -> str:
        digest = hashlib.sha256(self.value.encode("utf-8")).hexdigest()[:32]
        return f"{PREFIX}:{self.scope}:{digest}"


def subjects(ip: str, username: str | None) -> list[Subject]:
    found = [Subject("ip", ip or "unknown")]
    if username:
        found.append(Subject("user", username.strip().lower()))
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
            if start is not None and count >= max_failures():
                wait = max(wait, start + window_seconds() - now())
    except Exception:  # the cache is down: do not lock everybody out
        logger.warning("login rate limit: cache unavailable, not enforcing", exc_info=True)
        return 0
    return math.ceil(wait) if wait > 0 else 0


def check(ip: str, username: str | None) -> None:
    """Raise RateLimited when the IP or the username used up its failures in the current window."""
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
    """A successful login forgets the username's failures (the IP's stay: one good account must not reset
    the counter of an address that is guessing others)."""
    reset(username=username)


def reset(*, ip: str | None = None, username: str | None = None) -> None:
    keys = []
    if ip:
        keys.append(Subject("ip", ip).key)
    if username:
        keys.append(Subject("user", username.strip().lower()).key)
    try:
        cache.delete_many([f"{k}:{part}" for k in keys for part in ("start", "n")])
    except Exception:
        logger.warning("login rate limit: cache unavailable, reset skipped", exc_info=True)
