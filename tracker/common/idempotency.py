"""`Idempotency-Key` records: claim a key, store the 2xx answer, find it again, purge expired ones.

The HTTP side (header parsing, wrapping a view, replay) is `tracker.common.api.idempotency`; this module only
knows rows. The unique (user, key) index is the arbiter between concurrent requests: the first one
inserts its claim inside the transaction that runs the view, a duplicate's INSERT waits on that index
until the first commits (then it reads the finished record) or rolls back (then it claims the key)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Subquery
from django.utils import timezone

from tracker.models import IdempotencyRecord, User

PURGE_CHUNK = 1000
_CLAIM_ATTEMPTS = 3


def request_fingerprint(data: object) -> str:
    """sha256 hex of the canonical JSON of a request body (sorted keys, no whitespace).

    The body itself is never stored: the hash is enough to tell a retry from a different request."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def expiry_cutoff(*, now: datetime) -> datetime:
    return now - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)


@dataclass(frozen=True)
class Claim:
    record: IdempotencyRecord
    created: bool  # True: this request owns the key and runs the view; False: an earlier one finished


def idempotency_claim(
    *, user: User, key: str, method: str, path: str, request_hash: str, now: datetime | None = None
) -> Claim:
    """Claim `key` for this request or return the live record an earlier request left.

    Must run inside the caller's transaction: the claim row becomes visible, complete, only when that
    transaction commits, and disappears if it rolls back. An expired record counts as absent."""
    now = now or timezone.now()
    for _ in range(_CLAIM_ATTEMPTS):
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user=user, key=key, method=method, path=path, request_hash=request_hash, created_at=now
                )
            return Claim(record=record, created=True)
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if existing is None:  # released or purged between our INSERT and SELECT: claim again
            continue
        if existing.created_at <= expiry_cutoff(now=now):
            IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        return Claim(record=existing, created=False)
    raise RuntimeError("Could not claim an idempotency key after repeated races.")


def idempotency_store(*, record: IdempotencyRecord, status: int, body_json: str) -> None:
    """Keep the answer to replay. `body_json` is the rendered JSON text ("" for no body)."""
    record.response_status = status
    record.response_body = body_json
    record.save(update_fields=["response_status", "response_body"])


def idempotency_release(*, record: IdempotencyRecord) -> None:
    """Give the key back (the request was not a success): the client may fix it and retry."""
    IdempotencyRecord.objects.filter(pk=record.pk).delete()


def idempotency_purge_job(*, now: datetime) -> int:
    """Scheduler job: delete records older than IDEMPOTENCY_TTL_HOURS. Returns rows deleted.

    Set-based, in chunks (`DELETE … WHERE id IN (SELECT id … LIMIT n)`), so a backlog never turns
    into one long lock or a row-by-row loop."""
    cutoff = expiry_cutoff(now=now)
    total = 0
    while True:
        chunk = IdempotencyRecord.objects.filter(created_at__lte=cutoff).values("pk")[:PURGE_CHUNK]
        deleted, _ = IdempotencyRecord.objects.filter(pk__in=Subquery(chunk)).delete()
        total += deleted
        if deleted < PURGE_CHUNK:
            return total
