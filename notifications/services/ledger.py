"""Writing the delivery ledger: claim first, then inbox and outbox, all set-based.

`deliveries_record` inserts one `Delivery` per (user, kind, slot) with ON CONFLICT DO NOTHING and
only for the rows *this call* inserted writes the inbox items and queues a dispatch for every outbox
transport in the registry (notifications.transports.TRANSPORTS) the draft's channels name, in the
caller's transaction. A second tick, a redelivered task or a restarted beat hits the unique
constraint, wins nothing and sends nothing.

On PostgreSQL all of it is ONE statement (issue 14): data-modifying CTEs chain the ledger insert's
RETURNING (the rows won) into the inbox insert and one dispatch insert per outbox transport, joined to
the user's enabled devices for per-device transports. The drafts travel as one array per column
(`unnest`), so the statement's text does not grow with the batch. SQLite (no data-modifying CTEs)
keeps the three set-based statements below; both paths write the same rows."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

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
    if not drafts:
        return {}
    if connection.vendor == "postgresql":
        return _record_chained(drafts, now)
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


def _dispatch_states() -> dict[str, tuple[str, str]]:
    # Without configuration a transport's dispatches are recorded as disabled, never pretended.
    return {
        t.channel: (Dispatch.Status.PENDING, "")
        if t.configured()
        else (Dispatch.Status.DISABLED, f"{t.channel} not configured")
        for t in outbox_transports()
    }


def _record_chained(drafts: list[DeliveryDraft], now: datetime) -> dict[tuple, int]:
    """PostgreSQL: ledger → inbox → dispatches as one statement (see the module docstring)."""
    quote = connection.ops.quote_name
    delivery, inbox, dispatch, device = (quote(m._meta.db_table) for m in (Delivery, InboxItem, Dispatch, Device))
    columns = list(
        zip(
            *(
                (
                    d.user_id, d.kind, d.slot, d.status, d.skip_reason, d.title, d.body, d.deep_link,
                    d.inbox_body or d.body, ",".join(d.channels),
                )
                for d in drafts
            ),
            strict=True,
        )
    )  # fmt: skip
    types = ["uuid", "text", "timestamptz", "text", "text", "text", "text", "text", "text", "text"]
    arrays = [list(column) for column in columns]
    states = _dispatch_states()
    transport_params: list = []
    transports = []
    for position, transport in enumerate(outbox_transports()):
        status, note = states[transport.channel]
        name = f"t{position}"
        if transport.per_device:
            source = f"won w JOIN {device} dev ON dev.user_id = w.user_id AND dev.enabled"
            device_id = "dev.id"
        else:
            source, device_id = "won w", "NULL::uuid"
        # Only quoted table names and fixed aliases are interpolated; values are parameters.
        transports.append(
            f"""{name} AS (
                INSERT INTO {dispatch} (delivery_id, channel, device_id, status, last_error, attempts,
                                        next_attempt_at, created_at, updated_at)
                SELECT w.id, %s, {device_id}, %s, %s, 0, %s, %s, %s FROM {source}
                WHERE %s = ANY(w.channels)
            )"""  # noqa: S608
        )
        transport_params += [transport.channel, status, note, now, now, now, transport.channel]
    chained = "".join(f", {cte}" for cte in transports)
    sql = f"""
        WITH x AS (
            SELECT * FROM unnest({", ".join(f"%s::{t}[]" for t in types)})
                AS x(user_id, kind, slot, status, skip_reason, title, body, deep_link, inbox_body, channels)
        ),
        d AS (
            INSERT INTO {delivery} (user_id, kind, slot, status, skip_reason, title, body, deep_link, created_at)
            SELECT user_id, kind, slot, status, skip_reason, title, body, deep_link, %s FROM x
            ON CONFLICT (user_id, kind, slot) DO NOTHING
            RETURNING id, user_id, kind, slot, status
        ),
        won AS (
            SELECT d.id, d.user_id, d.kind, x.title, x.inbox_body, x.deep_link,
                   string_to_array(x.channels, ',') AS channels
            FROM d JOIN x ON x.user_id = d.user_id AND x.kind = d.kind AND x.slot = d.slot
            WHERE d.status = %s
        ),
        i AS (
            INSERT INTO {inbox} (id, user_id, delivery_id, kind, title, body, deep_link, created_at, read_at,
                                 opened_at)
            SELECT gen_random_uuid(), user_id, id, kind, title, inbox_body, deep_link, %s, NULL, NULL FROM won
        ){chained}
        SELECT id, user_id, kind, slot FROM d
    """  # noqa: S608
    # Parameter order follows the text: x's arrays, d's created_at, won's status, i's created_at, transports.
    params = [*arrays, now, Delivery.Status.SENT.value, now, *transport_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(user_id, kind, slot): delivery_id for delivery_id, user_id, kind, slot in cursor.fetchall()}
