# ruff: noqa
# notifications/services/reminders.py as it was before issue 14 (commit 4a0937d), kept verbatim (but for the
# ledger import) so a test can compare the optimised tick with it on the same data. Not used by the app.
"""The reminder part of the scheduler tick: claim due schedules in batches, record, send, advance.

Per batch, in one transaction and a fixed number of statements whatever the batch size:
1. claim up to REMINDER_BATCH_SIZE due schedules: `SELECT … FOR UPDATE OF schedule, user SKIP LOCKED`
   on PostgreSQL (a concurrent tick takes other rows). The user row is locked with the schedule, so
   the tick never waits for a user lock: a user being erased (erasure holds `FOR UPDATE` on the user
   row, then deletes the schedule) is skipped, and the ledger's foreign-key checks find the user row
   already ours. One lock order, no deadlock; on SQLite a conditional `UPDATE … SET claim_token` whose
   WHERE re-checks `next_due_at <= now` (SQLite serialises writers, so the claim is exclusive);
2. one query for who checked in since their previous slot (skip_if_done);
3. the ledger: INSERT … ON CONFLICT DO NOTHING RETURNING, then inbox items and push/email dispatches
   for the rows won (notifications.services.ledger);
4. advance every claimed schedule's `next_due_at` with one bulk UPDATE.
Push and email leave afterwards, from the dispatch outbox (notifications.services.dispatch)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max

from notifications.content import NUDGE_DEEP_LINK, nudge_text
from notifications.models import Delivery, ReminderSchedule
from notifications.planning import plan_slot
from tests.legacy.ledger_4a0937d import DeliveryDraft, deliveries_record
from notifications.services.schedules import schedule_next_due
from notifications.slots import in_quiet_hours
from tracker.common.sql import update_rows
from tracker.models import CheckIn

CLAIM_FIELDS = (
    "id",
    "user_id",
    "enabled",
    "times",
    "weekdays",
    "quiet_start",
    "quiet_end",
    "skip_if_done",
    "channels",
    "paused_until",
    "next_due_at",
    "last_slot_at",
    "unopened_streak",
    "backoff_skipped_last",
    "sent_count",
    "user__timezone",
)
UPDATED_FIELDS = ["next_due_at", "last_slot_at", "unopened_streak", "backoff_skipped_last", "sent_count", "claim_token"]


def _claim(*, now: datetime, limit: int) -> list[ReminderSchedule]:
    due = ReminderSchedule.objects.filter(next_due_at__lte=now).order_by("next_due_at", "id")
    if connection.features.has_select_for_update_skip_locked:
        return list(
            due.select_for_update(skip_locked=True, of=("self", "user"))
            .select_related("user")
            .only(*CLAIM_FIELDS)[:limit]
        )
    token = uuid.uuid4()
    claimed = ReminderSchedule.objects.filter(id__in=due.values("id")[:limit], next_due_at__lte=now).update(
        claim_token=token
    )
    if not claimed:
        return []
    return list(ReminderSchedule.objects.filter(claim_token=token).select_related("user").only(*CLAIM_FIELDS))


def _checked_in_since(schedules: list[ReminderSchedule], *, now: datetime) -> set:
    """Users (with skip_if_done) who have a non-deleted check-in since their previous slot: one query."""
    since = {s.user_id: s.last_slot_at or (s.next_due_at - timedelta(days=1)) for s in schedules if s.skip_if_done}
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


def _process_batch(*, now: datetime) -> int:
    grace = timedelta(seconds=settings.REMINDER_GRACE_SECONDS)
    with transaction.atomic():
        schedules = _claim(now=now, limit=settings.REMINDER_BATCH_SIZE)
        if not schedules:
            return 0
        checked_in = _checked_in_since(schedules, now=now)
        drafts: list[DeliveryDraft] = []
        plans = {}
        for schedule in schedules:
            slot = schedule.next_due_at
            tz_name = schedule.user.timezone
            following = schedule_next_due(schedule=schedule, tz_name=tz_name, after=slot)
            plan = plan_slot(
                slot=slot,
                following=following,
                now=now,
                grace=grace,
                checked_in=schedule.user_id in checked_in,
                unopened_streak=schedule.unopened_streak,
                backoff_skipped_last=schedule.backoff_skipped_last,
                backoff_after=settings.REMINDER_BACKOFF_AFTER,
                quiet_at_send=in_quiet_hours(
                    now, tz_name=tz_name, quiet_start=schedule.quiet_start, quiet_end=schedule.quiet_end
                ),
            )
            title, body = nudge_text(sent_count=schedule.sent_count, user_offset=schedule.user_id.int % 7)
            sent = plan.status == Delivery.Status.SENT
            drafts.append(
                DeliveryDraft(
                    user_id=schedule.user_id,
                    kind=Delivery.Kind.NUDGE,
                    slot=slot,
                    status=plan.status,
                    skip_reason=plan.skip_reason,
                    title=title if sent else "",
                    body=body if sent else "",
                    deep_link=NUDGE_DEEP_LINK if sent else "",
                    channels=tuple(schedule.channels),
                )
            )
            plans[schedule.id] = (plan, following)
        won = deliveries_record(drafts=drafts, now=now)
        for schedule, draft in zip(schedules, drafts, strict=True):
            plan, following = plans[schedule.id]
            if draft.key in won:  # counters move only for the slot this tick owns
                schedule.unopened_streak = plan.unopened_streak
                schedule.backoff_skipped_last = plan.backoff_skipped_last
                schedule.sent_count += plan.status == Delivery.Status.SENT
            schedule.last_slot_at = schedule.next_due_at
            schedule.next_due_at = following
            schedule.claim_token = None
        update_rows(ReminderSchedule, schedules, UPDATED_FIELDS)
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
