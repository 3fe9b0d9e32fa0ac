"""Writes to a user's reminder schedule. `next_due_at` is recomputed on every change."""

from __future__ import annotations

from datetime import datetime, time
from functools import lru_cache

from django.db import transaction
from django.utils import timezone

from notifications.models import ReminderSchedule
from notifications.slots import is_window, next_slot
from notifications.transports import TRANSPORTS, Channel
from tracker.models import User


def schedule_next_due(*, schedule: ReminderSchedule, tz_name: str, after: datetime) -> datetime | None:
    """The next slot strictly after `after`, honouring `enabled` and `paused_until`."""
    return next_due(
        enabled=schedule.enabled,
        tz_name=tz_name,
        times=tuple(schedule.times),
        weekdays=tuple(schedule.weekdays),
        quiet_start=schedule.quiet_start,
        quiet_end=schedule.quiet_end,
        paused_until=schedule.paused_until,
        after=after,
        seed=schedule.id or 0,
    )


@lru_cache(maxsize=65536)
def next_due(
    *,
    enabled: bool,
    tz_name: str,
    times: tuple[str, ...],
    weekdays: tuple[int, ...],
    quiet_start: time | None,
    quiet_end: time | None,
    paused_until: datetime | None,
    after: datetime,
    seed: int = 0,
) -> datetime | None:
    """`schedule_next_due` on plain values. Pure, so memoised: in a tick's batch most users share a
    zone, a schedule shape and a slot, and the slot maths runs once per distinct combination. Only
    window entries depend on the seed (the schedule id), so fixed-time schedules still share the memo."""
    if not enabled:
        return None
    if not any(is_window(entry) for entry in times):
        seed = 0
    return next_slot(
        after=after,
        tz_name=tz_name,
        times=times,
        weekdays=weekdays,
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        not_before=paused_until,
        seed=seed,
    )


@transaction.atomic
def schedule_update(
    *,
    user: User,
    times: list[str],
    weekdays: list[int],
    quiet_start: time | None,
    quiet_end: time | None,
    skip_if_done: bool,
    channels: list[str],
    paused_until: datetime | None,
    enabled: bool,
    now: datetime | None = None,
) -> ReminderSchedule:
    """Replace the schedule (PUT semantics) and reschedule from now. The inbox is always a channel."""
    now = now or timezone.now()
    schedule, _ = ReminderSchedule.objects.select_for_update().get_or_create(user=user)
    schedule.times = sorted(set(times))
    schedule.weekdays = sorted(set(weekdays))
    schedule.quiet_start, schedule.quiet_end = quiet_start, quiet_end
    schedule.skip_if_done = skip_if_done
    schedule.channels = [c for c in TRANSPORTS if c in set(channels) | {Channel.INBOX}]
    schedule.paused_until = paused_until
    if enabled and not schedule.enabled:
        schedule.unopened_streak = 0  # coming back from a pause starts fresh
    schedule.enabled = enabled
    schedule.next_due_at = schedule_next_due(schedule=schedule, tz_name=user.timezone, after=now)
    schedule.claim_token = None
    schedule.save()
    return schedule


@transaction.atomic
def schedule_reschedule(*, user: User, now: datetime | None = None) -> ReminderSchedule | None:
    """Recompute `next_due_at` from now, e.g. after the user's timezone changed."""
    now = now or timezone.now()
    schedule = ReminderSchedule.objects.select_for_update().filter(user=user).first()
    if schedule is None:
        return None
    schedule.next_due_at = schedule_next_due(schedule=schedule, tz_name=user.timezone, after=now)
    schedule.save(update_fields=["next_due_at", "updated_at"])
    return schedule
