"""Keeping the app up when a backing service is not: a cache that fails soft, and 503s for a lost database.

* `FailSoftRedisCache`: Django's Redis cache, except that a Redis that cannot be reached makes reads miss and
  writes do nothing (logged) instead of raising. Nothing in QualityGov keeps data only in the cache, so with
  Redis down pages are slower at worst, never broken.
* `DatabaseUnavailableMiddleware`: a lost or refused database connection (OperationalError/InterfaceError that
  escaped the view) answers 503 with a short message, JSON under /api/, instead of a 500. Writes run in
  transactions, so a connection lost in the middle of one leaves nothing behind.
"""

from __future__ import annotations

import logging

from django.core.cache.backends.redis import RedisCache
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
DATABASE_DOWN = (OperationalError, InterfaceError)
DATABASE_DOWN_MESSAGE = "The database could not be reached, so nothing was saved. Try again in a moment."


def _soft(method: str, fallback):
    def call(self, *args, **kwargs):
        try:
            return getattr(super(FailSoftRedisCache, self), method)(*args, **kwargs)
        except REDIS_DOWN as exc:
            logger.warning(
                "Cache unavailable (%s during %s); carrying on without it.", exc.__class__.__name__, method
            )
            return fallback(*args, **kwargs) if callable(fallback) else fallback

    call.__name__ = method
    return call


def _default_of_get(key, default=None, version=None):
    return default


def _default_of_incr(key, delta=1, version=None):
    # Counters (rate limits) start again from the delta when the cache comes back.
    return delta


class FailSoftRedisCache(RedisCache):
    """RedisCache whose reads miss and writes are dropped while Redis cannot be reached."""

    # `add` answers True (as if stored) so that code using it to coalesce work (one queued recompute per window)
    # goes ahead and does the work; nothing uses it as a lock.
    add = _soft("add", True)
    get = _soft("get", _default_of_get)
    set = _soft("set", None)
    touch = _soft("touch", False)
    delete = _soft("delete", False)
    get_many = _soft("get_many", {})
    has_key = _soft("has_key", False)
    incr = _soft("incr", _default_of_incr)
    set_many = _soft("set_many", [])
    delete_many = _soft("delete_many", None)
    clear = _soft("clear", None)


class DatabaseUnavailableMiddleware:
    """Turn a database connection failure that escaped a view into a 503 with a message (no traceback page)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_DOWN):
            return None
        logger.error("Database unavailable during %s %s: %s", request.method, request.path, exception)
        return database_unavailable_response(api=request.path.startswith("/api/"))


def database_unavailable_response(*, api: bool) -> HttpResponse:
    if api:
        response = JsonResponse({"detail": DATABASE_DOWN_MESSAGE, "code": "database_unavailable"}, status=503)
    else:
        response = HttpResponse(
            "<!doctype html><title>Service unavailable</title><h1>Service unavailable</h1>"
            f"<p>{DATABASE_DOWN_MESSAGE}</p>",
            status=503,
            content_type="text/html; charset=utf-8",
        )
    response["Retry-After"] = "5"
    return response
