"""A Redis cache that degrades to a per-process memory cache while Redis is unreachable.

The cache holds only throttle histories and the login/share-code lockout counters (DESIGN §3: a
Redis outage never blocks a user's write). Decision, per user of the cache:
- throttles fail *open to a local store*: during an outage each process counts on its own, so the
  effective limit is at most (processes x limit) and requests keep flowing;
- the lockout stays *on*: failures are counted and locks are set in the local store, so guessing is
  still bounded (at most processes x LOGIN_FAILURE_LIMIT attempts per window), and a lock set during
  the outage keeps holding after Redis is back (reads fall back to the local store on a miss).
Latency stays bounded: short socket timeouts, and after one failure the primary is not tried again
for CACHE_RETRY_SECONDS, so at most one request per process per interval pays the timeout."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)


class FallbackRedisCache(BaseCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        options = dict(params.get("OPTIONS") or {})
        self.retry_seconds = float(options.pop("RETRY_SECONDS", 5))
        timeout = float(options.pop("SOCKET_TIMEOUT", 0.25))
        options.setdefault("socket_connect_timeout", timeout)
        options.setdefault("socket_timeout", timeout)
        # redis-py retries a failed command with exponential backoff by default (seconds, holding a
        # gunicorn worker): fail at once and let the fallback answer instead.
        options.setdefault("retry", Retry(NoBackoff(), 0))
        self.primary = RedisCache(server, {**params, "OPTIONS": options})
        self.fallback = LocMemCache(f"securebase-fallback-{id(self)}", {"TIMEOUT": params.get("TIMEOUT", 300)})
        self._down_until = 0.0

    # -- plumbing ------------------------------------------------------------------------------------
    @property
    def degraded(self) -> bool:
        return time.monotonic() < self._down_until

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if not self.degraded:
            try:
                return getattr(self.primary, name)(*args, **kwargs)
            except ValueError:
                raise  # incr/decr of a missing key: a cache answer, not an outage
            except Exception as exc:
                self._down_until = time.monotonic() + self.retry_seconds
                logger.warning("cache: Redis unreachable (%s); using the local fallback", type(exc).__name__)
        return getattr(self.fallback, name)(*args, **kwargs)

    def ping(self) -> bool:
        """Ask Redis itself (no fallback): for /health/."""
        try:
            return bool(self.primary._cache.get_client(write=True).ping())
        except Exception:
            return False

    # -- the cache API ------------------------------------------------------------------------------
    def get(self, key, default=None, version=None):
        value = self._call("get", key, None, version=version)
        if value is None and not self.degraded:
            value = self.fallback.get(key, None, version=version)  # written during an outage
        return default if value is None else value

    def add(self, key, value, timeout=..., version=None):
        timeout = self.default_timeout if timeout is ... else timeout
        return self._call("add", key, value, timeout, version=version)

    def set(self, key, value, timeout=..., version=None):
        timeout = self.default_timeout if timeout is ... else timeout
        return self._call("set", key, value, timeout, version=version)

    def touch(self, key, timeout=..., version=None):
        timeout = self.default_timeout if timeout is ... else timeout
        return self._call("touch", key, timeout, version=version)

    def delete(self, key, version=None):
        self.fallback.delete(key, version=version)
        return self._call("delete", key, version=version)

    def incr(self, key, delta=1, version=None):
        return self._call("incr", key, delta, version=version)

    def decr(self, key, delta=1, version=None):
        return self._call("decr", key, delta, version=version)

    def has_key(self, key, version=None):
        return self._call("has_key", key, version=version)

    def get_many(self, keys, version=None):
        return self._call("get_many", keys, version=version)

    def set_many(self, data, timeout=..., version=None):
        timeout = self.default_timeout if timeout is ... else timeout
        return self._call("set_many", data, timeout, version=version)

    def delete_many(self, keys, version=None):
        self.fallback.delete_many(keys, version=version)
        return self._call("delete_many", keys, version=version)

    def clear(self):
        self.fallback.clear()
        return self._call("clear")

    def close(self, **kwargs):
        try:
            self.primary.close(**kwargs)
        except Exception:  # pragma: no cover - closing a dead connection
            logger.debug("cache: closing the Redis connection failed", exc_info=True)
