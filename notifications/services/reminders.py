"""The reminder part of the scheduler tick: claim due schedules in batches, record, send, advance.

Per batch, in one transaction and a fixed number of statements whatever the batch size (issue 14:
three on PostgreSQL, down from seven):
1. claim up to REMINDER_BATCH_SIZE due schedules as plain tuples (no ORM objects):
   `SELECT … FOR UPDATE OF schedule, user SKIP LOCKED` on PostgreSQL (a concurrent tick takes other
   rows), which also answers skip_if_done (an `EXISTS` on the user's check-ins since their previous
   slot). The user row is locked with the schedule, so the tick never waits for a user lock: a user
   being erased (erasure holds `FOR UPDATE` on the user row, then deletes the schedule) is skipped,
   and the ledger's foreign-key checks find the user row already ours. One lock order, no deadlock.
   On SQLite a conditional `UPDATE … SET claim_token` whose WHERE re-checks `next_due_at <= now`
   (SQLite serialises writers, so the claim is exclusive), then the rows and the check-in lookup;
2. the ledger, inbox items and push/email dispatches for the rows won: one chained statement on
   PostgreSQL (notifications.services.ledger);
3. advance every claimed schedule's `next_due_at` with one bulk UPDATE.
Slot maths (`next_due`, quiet hours at send time) is memoised per distinct (zone, schedule shape,
slot), so a batch of users sharing a zone and a schedule computes it once.
Push and email leave afterwards, from the dispatch outbox (notifications.services.dispatch)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max

from notifications.content import NUDGE_DEEP_LINK, nudge_text
from notifications.models import Delivery, ReminderSchedule
from notifications.planning import plan_slot
from notifications.services.ledger import DeliveryDraft, deliveries_record
from notifications.services.schedules import next_due
from notifications.slots import in_quiet_hours
from tracker.common.sql import update_rows
from tracker.models import CheckIn, User


class Claimed(NamedTuple):
    """One claimed schedule, as the claim statement returns it."""

    id: int
    user_id: uuid.UUID
    enabled: bool
    times: list
    weekdays: list
    quiet_start: time | None
    quiet_end: time | None
    skip_if_done: bool
    channels: list
    paused_until: datetime | None
    next_due_at: datetime
    last_slot_at: datetime | None
    unopened_streak: int
    backoff_skipped_last: bool
    sent_count: int
    timezone: str
    checked_in: bool


class Advance(NamedTuple):
    """What the tick writes back to one schedule (attribute names are the model's)."""

    id: int
    next_due_at: datetime | None
    last_slot_at: datetime
    unopened_streak: int
    backoff_skipped_last: bool
    sent_count: int
    claim_token: None = None


CLAIM_COLUMNS = [f for f in Claimed._fields if f not in ("timezone", "checked_in")]
UPDATED_FIELDS = ["next_due_at", "last_slot_at", "unopened_streak", "backoff_skipped_last", "sent_count", "claim_token"]


def _claim_postgres(*, now: datetime, limit: int) -> list[Claimed]:
    quote = connection.ops.quote_name
    schedules, users, checkins = (quote(m._meta.db_table) for m in (ReminderSchedule, User, CheckIn))
    columns = ", ".join(f"s.{quote(ReminderSchedule._meta.get_field(name).column)}" for name in CLAIM_COLUMNS)
    # Only quoted identifiers are interpolated; `now` and `limit` are parameters.
    sql = f"""
        SELECT {columns}, u.timezone,
               s.skip_if_done AND EXISTS (
                   SELECT 1 FROM {checkins} c
                   WHERE c.user_id = s.user_id AND c.deleted_at IS NULL AND c.occurred_at <= %(now)s
                     AND c.occurred_at >= COALESCE(s.last_slot_at, s.next_due_at - interval '1 day')
               )
        FROM {schedules} s JOIN {users} u ON u.id = s.user_id
        WHERE s.next_due_at <= %(now)s
        ORDER BY s.next_due_at, s.id
        LIMIT %(limit)s
        FOR UPDATE OF s, u SKIP LOCKED
    """  # noqa: S608
    json_columns = [i for i, name in enumerate(CLAIM_COLUMNS) if name in ("times", "weekdays", "channels")]
    with connection.cursor() as cursor:
        cursor.execute(sql, {"now": now, "limit": limit})
        rows = cursor.fetchall()
    claimed = []
    for row in rows:
        row = list(row)
        for i in json_columns:  # Django leaves jsonb undecoded on raw cursors
            if isinstance(row[i], str):
                row[i] = json.loads(row[i])
        claimed.append(Claimed(*row))
    return claimed


def _claim_sqlite(*, now: datetime, limit: int) -> list[Claimed]:
    due = ReminderSchedule.objects.filter(next_due_at__lte=now).order_by("next_due_at", "id")
    token = uuid.uuid4()
    claimed = ReminderSchedule.objects.filter(id__in=due.values("id")[:limit], next_due_at__lte=now).update(
        claim_token=token
    )
    if not claimed:
        return []
    rows = list(
        ReminderSchedule.objects.filter(claim_token=token)
        .order_by("next_due_at", "id")
        .values_list(*CLAIM_COLUMNS, "user__timezone")
    )
    checked_in = _checked_in_since(rows, now=now)
    return [Claimed(*row, row[1] in checked_in) for row in rows]


def _checked_in_since(rows: list[tuple], *, now: datetime) -> set:
    """Users (with skip_if_done) who have a non-deleted check-in since their previous slot: one query."""
    index = {name: i for i, name in enumerate(CLAIM_COLUMNS)}
    since = {
        row[index["user_id"]]: row[index["last_slot_at"]] or (row[index["next_due_at"]] - timedelta(days=1))
        for row in rows
        if row[index["skip_if_done"]]
    }
    if not since:
        return set()
    latest = (
        CheckIn.objects.filter(
            user_id__in=since, deleted_at__isnull=True, occurred_at__gte=min(since.values()), occurred_at__lte=now
        )
        .values("user_id")
        .annotate(latest=Max("occurred_at"))
        .values_list("user_id", "latest")
    )
    return {user_id for user_id, at in latest if at >= since[user_id]}


@lru_cache(maxsize=4096)
def _quiet_at(now: datetime, tz_name: str, quiet_start: time | None, quiet_end: time | None) -> bool:
    return in_quiet_hours(now, tz_name=tz_name, quiet_start=quiet_start, quiet_end=quiet_end)


def _process_batch(*, now: datetime) -> int:
    grace = timedelta(seconds=settings.REMINDER_GRACE_SECONDS)
    backoff_after = settings.REMINDER_BACKOFF_AFTER
    claim = _claim_postgres if connection.features.has_select_for_update_skip_locked else _claim_sqlite
    with transaction.atomic():
        schedules = claim(now=now, limit=settings.REMINDER_BATCH_SIZE)
        if not schedules:
            return 0
        drafts: list[DeliveryDraft] = []
        plans = []
        for row in schedules:
            slot = row.next_due_at
            following = next_due(
                enabled=row.enabled,
                tz_name=row.timezone,
                times=tuple(row.times),
                weekdays=tuple(row.weekdays),
                quiet_start=row.quiet_start,
                quiet_end=row.quiet_end,
                paused_until=row.paused_until,
                after=slot,
                seed=row.id,
            )
            plan = plan_slot(
                slot=slot,
                following=following,
                now=now,
                grace=grace,
                checked_in=row.checked_in,
                unopened_streak=row.unopened_streak,
                backoff_skipped_last=row.backoff_skipped_last,
                backoff_after=backoff_after,
                quiet_at_send=_quiet_at(now, row.timezone, row.quiet_start, row.quiet_end),
            )
            sent = plan.status == Delivery.Status.SENT
            title, body = nudge_text(sent_count=row.sent_count, user_offset=row.user_id.int % 7) if sent else ("", "")
            drafts.append(
                DeliveryDraft(
                    user_id=row.user_id,
                    kind=Delivery.Kind.NUDGE,
                    slot=slot,
                    status=plan.status,
                    skip_reason=plan.skip_reason,
                    title=title,
                    body=body,
                    deep_link=NUDGE_DEEP_LINK if sent else "",
                    channels=tuple(row.channels),
                )
            )
            plans.append((plan, following))
        won = deliveries_record(drafts=drafts, now=now)
        advances = []
        for row, draft, (plan, following) in zip(schedules, drafts, plans, strict=True):
            if draft.key in won:  # counters move only for the slot this tick owns
                streak, skipped_last = plan.unopened_streak, plan.backoff_skipped_last
                sent_count = row.sent_count + (plan.status == Delivery.Status.SENT)
            else:
                streak, skipped_last, sent_count = row.unopened_streak, row.backoff_skipped_last, row.sent_count
            advances.append(Advance(row.id, following, row.next_due_at, streak, skipped_last, sent_count))
        update_rows(ReminderSchedule, advances, UPDATED_FIELDS)  # duck-typed: attribute names are the model's
        return len(schedules)


def reminders_job(*, now: datetime) -> int:
    """Scheduler job: handle every due slot, batch by batch. A schedule that is still due after its
    slot advanced (catching up after an outage) is claimed again by a later batch of the same tick."""
    processed = 0
    for _ in range(settings.REMINDER_MAX_BATCHES_PER_TICK):
        handled = _process_batch(now=now)
        if not handled:
            break
        processed += handled
    return processed
