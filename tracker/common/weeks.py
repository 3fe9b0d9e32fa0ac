"""A user's local ISO weeks: where they start in UTC, and how they are named.

A week runs from Monday 00:00 to the next Monday 00:00 *on the user's wall clock* in their IANA
timezone, so it is 167 or 169 hours long across a DST change. Plain functions over `zoneinfo`;
no Django, so the trend maths and its tests can use them directly."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tracker.common.errors import Invalid

WEEK = timedelta(days=7)
ISO_WEEK_LABEL = re.compile(r"^(\d{4})-W(\d{2})$")


def week_start_of(day: date) -> date:
    """The Monday of the ISO week containing `day`."""
    return day - timedelta(days=day.weekday())


def local_week_start(moment: datetime, tz: str | ZoneInfo) -> date:
    """The local Monday of the ISO week in which the aware datetime `moment` falls for a user in `tz`."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return week_start_of(moment.astimezone(zone).date())


def local_midnight_utc(day: date, tz: str | ZoneInfo) -> datetime:
    """The UTC instant at which `day` begins on the user's wall clock.

    If local midnight does not exist (a DST gap at 00:00, e.g. America/Santiago), zoneinfo's fold=0
    reading uses the offset in force before the gap, which lands exactly on the transition: the first
    instant of that local day."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def local_week_bounds(week_start: date, tz: str | ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the local week beginning on Monday `week_start`, as UTC datetimes."""
    return local_midnight_utc(week_start, tz), local_midnight_utc(week_start + WEEK, tz)


def iso_week_label(week_start: date) -> str:
    """`2026-W47` for the week starting on that Monday."""
    year, week, _ = week_start.isocalendar()
    return f"{year}-W{week:02d}"


class InvalidIsoWeek(Invalid, ValueError):
    """Not an ISO week label (an `Invalid` on `week`, and still a ValueError for plain callers)."""

    def __init__(self, reason: str):
        super().__init__({"week": [reason]})


def parse_iso_week(label: str) -> date:
    """The Monday of an ISO week label such as `2026-W47`; InvalidIsoWeek when it is not one."""
    match = ISO_WEEK_LABEL.match(label)
    if not match:
        raise InvalidIsoWeek("Expected an ISO week such as 2026-W47.")
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError as exc:  # e.g. week 53 of a year that has 52
        raise InvalidIsoWeek(str(exc)) from None
