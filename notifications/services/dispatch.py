"""Draining the dispatch outbox through the transport registry, with retries and an honest attempt log.

Each push is recorded as it happens, one dispatch at a time:
1. `begin`: a conditional `pending` → `sending` (attempts + 1), committed *before* the network call.
   Only one sender wins it; a dispatch nobody began is still `pending`, so a redelivered task or a
   crash resends exactly the dispatches that were never attempted.
2. the network call, and its outcome written at once (`sent`, `failed`, or back to `pending` with
   backoff for a temporary error) with its `DeliveryAttempt`, in a transaction of its own: a
   failure for one user (e.g. erased mid-batch) never touches another user's records.
3. A dispatch still `sending` after SENDING_LEASE belonged to a sender that died during the call:
   the provider may or may not have it, so it becomes `unknown` (never resent; never claimed
   as not sent). At most once for push and email; the inbox copy is always there.

Erasure is final: on PostgreSQL steps 2's transaction holds `FOR KEY SHARE` on the user row for the
duration of the call, so `DELETE /me` (which takes `FOR UPDATE` on that row) waits for a push in
flight and, once it has answered, no sender finds the user any more.
Temporary errors go back to `pending` with exponential backoff (RETRY_BASE · 2^(attempt-1)) until
NOTIFICATION_MAX_ATTEMPTS; permanent ones fail at once; a dead push token disables its device.
Each dispatch goes to `TRANSPORTS[dispatch.channel]`; nothing here knows a channel by name."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from notifications.models import DeliveryAttempt, Device, Dispatch
from notifications.transports import TRANSPORTS, Message, TransportError
from tracker.common.metrics import dispatch_observe

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    status: str
    error: str = ""
    http_status: int | None = None
    disable_device: bool = False


def _due_ids(*, now: datetime, limit: int) -> list[int]:
    """Candidates only: each one is won (or not) by `_begin`."""
    pending = Dispatch.objects.filter(status=Dispatch.Status.PENDING, next_attempt_at__lte=now).order_by(
        "next_attempt_at", "id"
    )
    return list(pending.values_list("id", flat=True)[:limit])


def _begin(dispatch_id: int, *, now: datetime) -> bool:
    """Record that an attempt begins (committed before any network call); False if another sender
    won it, it is not due any more, or it vanished (its user was erased)."""
    with transaction.atomic():
        return bool(
            Dispatch.objects.filter(id=dispatch_id, status=Dispatch.Status.PENDING).update(
                status=Dispatch.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
            )
        )


def _user_present(user_id) -> bool:
    """Inside the caller's transaction: on PostgreSQL lock the user row `FOR KEY SHARE` (erasure's
    `FOR UPDATE` waits for it, and it waits for erasure); elsewhere just look."""
    from tracker.models import User

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(User._meta.db_table)
            cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE", [user_id])  # noqa: S608
            return cursor.fetchone() is not None
    return User.objects.filter(id=user_id).exists()


def _message(dispatch: Dispatch) -> Message:
    delivery = dispatch.delivery
    inbox = getattr(delivery, "inbox_item", None)
    return Message(
        title=delivery.title,
        body=delivery.body,
        deep_link=delivery.deep_link,
        email=delivery.user.email,
        device_token=dispatch.device.token if dispatch.device else None,
        # Ids and a link only: the app fetches anything else over the authenticated API.
        data={
            "kind": delivery.kind,
            "delivery_id": str(delivery.id),
            "inbox_id": str(inbox.id) if inbox else "",
            "deep_link": delivery.deep_link,
        },
    )


def _send_one(dispatch: Dispatch) -> Outcome:
    transport = TRANSPORTS.get(dispatch.channel)
    if transport is None or not transport.via_outbox:
        return Outcome(Dispatch.Status.DISABLED, f"no transport for {dispatch.channel}"[:200])
    if not transport.configured():
        return Outcome(Dispatch.Status.DISABLED, f"{dispatch.channel} not configured")
    if transport.per_device and (dispatch.device is None or not dispatch.device.enabled):
        return Outcome(Dispatch.Status.DISABLED, "device disabled")
    try:
        transport.send(_message(dispatch))
    except TransportError as exc:
        return Outcome(
            DeliveryAttempt.Status.PERMANENT_ERROR if exc.permanent else DeliveryAttempt.Status.TEMPORARY_ERROR,
            exc.message[:200],
            exc.http_status,
            exc.disable_device,
        )
    return Outcome(DeliveryAttempt.Status.OK)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=settings.NOTIFICATION_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))


def _record(dispatch: Dispatch, outcome: Outcome, *, now: datetime, duration_ms: int) -> None:
    """Write one outcome (in the caller's transaction): the attempt log row and the dispatch's state."""
    if outcome.status == Dispatch.Status.DISABLED:
        Dispatch.objects.filter(id=dispatch.id).update(status=Dispatch.Status.DISABLED, last_error=outcome.error)
        return
    DeliveryAttempt.objects.create(
        dispatch=dispatch,
        channel=dispatch.channel,
        status=outcome.status,
        error=outcome.error,
        http_status=outcome.http_status,
        duration_ms=duration_ms,
        attempted_at=timezone.now(),
    )
    next_attempt_at = dispatch.next_attempt_at
    if outcome.status == DeliveryAttempt.Status.OK:
        status = Dispatch.Status.SENT
    elif outcome.status == DeliveryAttempt.Status.TEMPORARY_ERROR and (
        dispatch.attempts < settings.NOTIFICATION_MAX_ATTEMPTS
    ):
        status = Dispatch.Status.PENDING
        next_attempt_at = now + _backoff(dispatch.attempts)
    else:
        status = Dispatch.Status.FAILED
    Dispatch.objects.filter(id=dispatch.id).update(
        status=status, next_attempt_at=next_attempt_at, last_error=outcome.error
    )
    if outcome.disable_device and dispatch.device_id:
        Device.objects.filter(id=dispatch.device_id).update(enabled=False, disabled_reason="invalid_token")
    if outcome.status != DeliveryAttempt.Status.OK:
        logger.warning("dispatch %s %s attempt %d: %s", dispatch.id, dispatch.channel, dispatch.attempts, outcome.error)


def _attempt(dispatch_id: int, *, now: datetime) -> str | None:
    dispatch = (
        Dispatch.objects.filter(id=dispatch_id, status=Dispatch.Status.SENDING)
        .select_related("delivery__user", "delivery__inbox_item", "device")
        .first()
    )
    if dispatch is None or not _user_present(dispatch.delivery.user_id):
        return None  # erased (the cascade took the dispatch too): nothing is sent
    began = time.monotonic()
    outcome = _send_one(dispatch)
    with transaction.atomic():  # a savepoint inside the PostgreSQL lock; its own transaction elsewhere
        _record(dispatch, outcome, now=now, duration_ms=int((time.monotonic() - began) * 1000))
    dispatch_observe(channel=dispatch.channel, outcome=outcome.status, error=outcome.error)
    return outcome.status


def _send_and_record(dispatch_id: int, *, now: datetime) -> str | None:
    """One dispatch, begun already: send it and record the outcome. None if its user is gone.

    On PostgreSQL the user-row lock is held across the call (see the module docstring). SQLite takes
    the database's write lock at BEGIN, so there the call happens outside any transaction (the
    embedded default has one worker and serialises writers anyway)."""
    if connection.vendor == "postgresql":
        with transaction.atomic():
            return _attempt(dispatch_id, now=now)
    return _attempt(dispatch_id, now=now)


def _process_batch(*, now: datetime) -> int:
    handled = 0
    for dispatch_id in _due_ids(now=now, limit=settings.DISPATCH_BATCH_SIZE):
        if not _begin(dispatch_id, now=now):
            continue
        handled += 1
        try:
            _send_and_record(dispatch_id, now=now)
        except DatabaseError:
            # This dispatch stays `sending` (→ `unknown` after the lease); the others go on.
            logger.exception("dispatch %s: could not record its outcome", dispatch_id)
    return handled


def dispatch_job(*, now: datetime) -> int:
    """Scheduler job: send every dispatch that is due, batch by batch."""
    lease = timedelta(seconds=settings.NOTIFICATION_SENDING_LEASE_SECONDS)
    Dispatch.objects.filter(status=Dispatch.Status.SENDING, claimed_at__lt=now - lease).update(
        status=Dispatch.Status.UNKNOWN, last_error="sender died during the attempt; outcome unknown, not resent"
    )
    processed = 0
    for _ in range(settings.DISPATCH_MAX_BATCHES_PER_TICK):
        handled = _process_batch(now=now)
        if not handled:
            break
        processed += handled
    return processed
