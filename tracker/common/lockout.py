"""Failure counting with a temporary lock, kept in the cache: the one mechanism behind the login
lockout and the share-code guessing throttle.

Identifiers are hashed before they become cache keys, so no email or IP address lands in a cache
that may be a shared Redis. The lock stores its own deadline, so a check needs no TTL support."""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache


def _keys(scope: str, ident: str) -> tuple[str, str]:
    digest = hashlib.sha256(ident.encode()).hexdigest()
    return f"{scope}-failures:{digest}", f"{scope}-locked:{digest}"


def lock_retry_after(*, scope: str, ident: str) -> int | None:
    """Whole seconds (≥ 1) until `ident` may try again, or None when it is not locked."""
    _, lock_key = _keys(scope, ident)
    locked_until = cache.get(lock_key)
    now = time.time()
    if locked_until is None or locked_until <= now:
        return None
    return max(1, int(locked_until - now + 0.999))


def failure_record(*, scope: str, ident: str, limit: int, lock_seconds: int) -> bool:
    """Count one failure within a `lock_seconds` window; at `limit` failures lock `ident` for
    `lock_seconds` (and start counting afresh). True when this failure set the lock."""
    failure_key, lock_key = _keys(scope, ident)
    cache.add(failure_key, 0, timeout=lock_seconds)
    if cache.incr(failure_key) < limit:
        return False
    cache.set(lock_key, time.time() + lock_seconds, lock_seconds)
    cache.delete(failure_key)
    return True


def failures_reset(*, scope: str, ident: str) -> None:
    failure_key, _ = _keys(scope, ident)
    cache.delete(failure_key)
