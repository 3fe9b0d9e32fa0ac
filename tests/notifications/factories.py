"""Test data for notifications: schedules through the real service, check-ins, summaries."""

from __future__ import annotations

from datetime import date, datetime, time

from django.utils import timezone

from notifications.models import ReminderSchedule
from notifications.services.schedules import schedule_update
from tests.insights import trend_data
from tracker.models import CheckIn, WeeklySummary

EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]


def make_schedule(
    user,
    *,
    times: list[str],
    weekdays: list[int] | None = None,
    quiet: tuple[str, str] | None = None,
    skip_if_done: bool = False,
    channels: list[str] | None = None,
    paused_until: datetime | None = None,
    enabled: bool = True,
    now: datetime | None = None,
) -> ReminderSchedule:
    return schedule_update(
        user=user,
        times=times,
        weekdays=EVERY_DAY if weekdays is None else weekdays,
        quiet_start=time.fromisoformat(quiet[0]) if quiet else None,
        quiet_end=time.fromisoformat(quiet[1]) if quiet else None,
        skip_if_done=skip_if_done,
        channels=channels or ["inbox"],
        paused_until=paused_until,
        enabled=enabled,
        now=now or timezone.now(),
    )


def make_checkin(user, *, occurred_at: datetime, deleted: bool = False) -> CheckIn:
    return trend_data.checkin(user, occurred_at, 4, 4, deleted_at=occurred_at if deleted else None)


def make_summary(user, *, week_start: date, payload: dict | None = None) -> WeeklySummary:
    iso = week_start.isocalendar()
    return WeeklySummary.objects.create(
        user=user,
        week_start=week_start,
        iso_year=iso.year,
        iso_week=iso.week,
        payload=payload if payload is not None else {},
        computed_at=timezone.now(),
    )
