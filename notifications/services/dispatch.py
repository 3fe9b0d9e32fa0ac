"""Draining the dispatch outbox through the transport registry, with retries and an attempt log.

Each batch is claimed (`pending` → `sending`, attempts + 1) and committed *before* any network call;
the results are written afterwards with a few set-based statements. A dispatch left in `sending` by a
worker that died mid-send is never retried: after SENDING_LEASE it becomes `abandoned`, because the
provider may already have shown it (at most once beats twice; the inbox copy is always there).
Temporary errors go back to `pending` with exponential backoff (RETRY_BASE · 2^(attempt-1)) until
NOTIFICATION_MAX_ATTEMPTS; permanent ones fail at once; a dead push token disables its device.
Each dispatch goes to `TRANSPORTS[dispatch.channel]`; nothing here knows a channel by name."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from notifications.models import DeliveryAttempt, Device, Dispatch
from notifications.transports import TRANSPORTS, Message, TransportError
from tracker.common.sql import update_rows

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    status: str
    error: str = ""
    http_status: int | None = None
    disable_device: bool = False


def _claim(*, now: datetime, limit: int) -> list[int]:
    pending = Dispatch.objects.filter(status=Dispatch.Status.PENDING, next_attempt_at__lte=now).order_by(
        "next_attempt_at", "id"
    )
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            ids = list(pending.select_for_update(skip_locked=True).values_list("id", flat=True)[:limit])
            if ids:
                Dispatch.objects.filter(id__in=ids).update(
                    status=Dispatch.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
                )
            return ids
        token = uuid.uuid4()
        claimed = Dispatch.objects.filter(id__in=pending.values("id")[:limit], status=Dispatch.Status.PENDING).update(
            status=Dispatch.Status.SENDING, claimed_at=now, claim_token=token, attempts=F("attempts") + 1
        )
        return list(Dispatch.objects.filter(claim_token=token).values_list("id", flat=True)) if claimed else []


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


def _process_batch(*, now: datetime) -> int:
    ids = _claim(now=now, limit=settings.DISPATCH_BATCH_SIZE)
    if not ids:
        return 0
    dispatches = list(
        Dispatch.objects.filter(id__in=ids).select_related("delivery__user", "delivery__inbox_item", "device")
    )
    attempts: list[DeliveryAttempt] = []
    dead_devices: list = []
    for dispatch in dispatches:
        began = time.monotonic()
        outcome = _send_one(dispatch)
        duration_ms = int((time.monotonic() - began) * 1000)
        if outcome.status == Dispatch.Status.DISABLED:
            dispatch.status, dispatch.last_error = Dispatch.Status.DISABLED, outcome.error
            continue
        attempts.append(
            DeliveryAttempt(
                dispatch=dispatch,
                channel=dispatch.channel,
                status=outcome.status,
                error=outcome.error,
                http_status=outcome.http_status,
                duration_ms=duration_ms,
                attempted_at=timezone.now(),
            )
        )
        dispatch.last_error = outcome.error
        if outcome.status == DeliveryAttempt.Status.OK:
            dispatch.status = Dispatch.Status.SENT
        elif outcome.status == DeliveryAttempt.Status.TEMPORARY_ERROR and (
            dispatch.attempts < settings.NOTIFICATION_MAX_ATTEMPTS
        ):
            dispatch.status = Dispatch.Status.PENDING
            dispatch.next_attempt_at = now + _backoff(dispatch.attempts)
        else:
            dispatch.status = Dispatch.Status.FAILED
        if outcome.disable_device and dispatch.device_id:
            dead_devices.append(dispatch.device_id)
        if outcome.status != DeliveryAttempt.Status.OK:
            logger.warning(
                "dispatch %s %s attempt %d: %s", dispatch.id, dispatch.channel, dispatch.attempts, outcome.error
            )
    with transaction.atomic():
        DeliveryAttempt.objects.bulk_create(attempts, batch_size=500)
        update_rows(Dispatch, dispatches, ["status", "next_attempt_at", "last_error"])
        if dead_devices:
            Device.objects.filter(id__in=dead_devices).update(enabled=False, disabled_reason="invalid_token")
    return len(dispatches)


def dispatch_job(*, now: datetime) -> int:
    """Scheduler job: send every dispatch that is due, batch by batch."""
    lease = timedelta(seconds=settings.NOTIFICATION_SENDING_LEASE_SECONDS)
    Dispatch.objects.filter(status=Dispatch.Status.SENDING, claimed_at__lt=now - lease).update(
        status=Dispatch.Status.ABANDONED, last_error="sender died mid-send; not retried"
    )
    processed = 0
    for _ in range(settings.DISPATCH_MAX_BATCHES_PER_TICK):
        handled = _process_batch(now=now)
        if not handled:
            break
        processed += handled
    return processed
