# ruff: noqa
# notifications/services/ledger.py as it was before issue 14 (commit 4a0937d), kept verbatim (but for the
# ledger import) so a test can compare the optimised tick with it on the same data. Not used by the app.
"""Writing the delivery ledger: claim first, then inbox and outbox, all set-based.

`deliveries_record` inserts one `Delivery` per (user, kind, slot) with ON CONFLICT DO NOTHING and
only for the rows *this call* inserted writes the inbox items and queues a dispatch for every outbox
transport in the registry (notifications.transports.TRANSPORTS) the draft's channels name, in the
caller's transaction. A second tick, a redelivered task or a restarted beat hits the unique
constraint, wins nothing and sends nothing."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from notifications.models import Delivery, Device, Dispatch, InboxItem
from notifications.transports import Channel, outbox_transports
from tracker.common.sql import insert_ignore_returning, insert_rows


@dataclass
class DeliveryDraft:
    user_id: uuid.UUID
    kind: str
    slot: datetime
    status: str
    skip_reason: str = ""
    title: str = ""
    body: str = ""
    deep_link: str = ""
    # The in-app line (may say more than push and email ever do); defaults to `body`.
    inbox_body: str | None = None
    channels: tuple[str, ...] = (Channel.INBOX,)

    @property
    def key(self) -> tuple[uuid.UUID, str, datetime]:
        return (self.user_id, self.kind, self.slot)


def deliveries_record(*, drafts: list[DeliveryDraft], now: datetime) -> dict[tuple, int]:
    """Claim the drafts' slots; returns {draft.key: delivery_id} for the ones this call won."""
    rows = [
        {
            "user_id": d.user_id,
            "kind": d.kind,
            "slot": d.slot,
            "status": d.status,
            "skip_reason": d.skip_reason,
            "title": d.title,
            "body": d.body,
            "deep_link": d.deep_link,
            "created_at": now,
        }
        for d in drafts
    ]
    inserted = insert_ignore_returning(
        Delivery, rows, conflict=["user", "kind", "slot"], returning=["id", "user", "kind", "slot"]
    )
    won = {(user_id, kind, slot): delivery_id for delivery_id, user_id, kind, slot in inserted}
    sent = [d for d in drafts if d.key in won and d.status == Delivery.Status.SENT]
    if sent:
        _inbox_create(sent, won, now)
        _dispatches_create(sent, won, now)
    return won


def _inbox_create(drafts: list[DeliveryDraft], won: dict, now: datetime) -> None:
    insert_rows(
        InboxItem,
        [
            {
                "id": uuid.uuid4(),
                "user_id": d.user_id,
                "delivery_id": won[d.key],
                "kind": d.kind,
                "title": d.title,
                "body": d.inbox_body or d.body,
                "deep_link": d.deep_link,
                "created_at": now,
                "read_at": None,
                "opened_at": None,
            }
            for d in drafts
        ],
    )


def _dispatches_create(drafts: list[DeliveryDraft], won: dict, now: datetime) -> None:
    transports = [t for t in outbox_transports() if any(t.channel in d.channels for d in drafts)]
    device_users = {d.user_id for d in drafts for t in transports if t.per_device and t.channel in d.channels}
    devices: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if device_users:
        for device_id, user_id in Device.objects.filter(user_id__in=device_users, enabled=True).values_list(
            "id", "user_id"
        ):
            devices[user_id].append(device_id)
    # Without configuration a transport's dispatches are recorded as disabled, never pretended.
    states = {
        t.channel: (Dispatch.Status.PENDING, "")
        if t.configured()
        else (Dispatch.Status.DISABLED, f"{t.channel} not configured")
        for t in transports
    }

    def row(delivery_id: int, channel: str, device_id) -> dict:
        status, note = states[channel]
        return {
            "delivery_id": delivery_id,
            "channel": channel,
            "device_id": device_id,
            "status": status,
            "last_error": note,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }

    dispatches = []
    for d in drafts:
        delivery_id = won[d.key]
        for t in transports:
            if t.channel not in d.channels:
                continue
            if t.per_device:
                dispatches.extend(row(delivery_id, t.channel, device_id) for device_id in devices.get(d.user_id, ()))
            else:
                dispatches.append(row(delivery_id, t.channel, None))
    insert_rows(Dispatch, dispatches)
