"""Reminder slots: local wall times → UTC instants, in the user's IANA timezone.

Pure functions (no database) so the DST rules are tested directly:
- quiet hours: a time inside them moves to their end; if the end is on the next day (a window that
  wraps midnight, e.g. 22:00-07:00, and a time after its start) the nudge is dropped for that day;
- a nonexistent local time (spring forward gap) moves to the next valid minute;
- an ambiguous one (fall back) resolves to its first occurrence (fold=0) only, so it fires once.

A schedule entry is either a fixed wall time ("09:00") or a window ("09:00-12:00", start < end,
end exclusive) in which the nudge comes at a random minute, drawn per slot (see `draw_in_window`).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

# A schedule with any weekday has a slot within 8 local days; search a little beyond that.
SEARCH_DAYS = 9


def in_quiet_hours(instant: datetime, *, tz_name: str, quiet_start: time | None, quiet_end: time | None) -> bool:
    """Whether `instant` falls inside the quiet window [quiet_start, quiet_end) on the user's local
    wall clock. A window that wraps midnight (22:00-07:00) covers both sides of it; an empty or equal
    pair means no quiet hours. Checked again at send time, so a late nudge never breaks them."""
    if quiet_start is None or quiet_end is None or quiet_start == quiet_end:
        return False
    wall = instant.astimezone(zone(tz_name)).time().replace(tzinfo=None)
    if quiet_start < quiet_end:
        return quiet_start <= wall < quiet_end
    return wall >= quiet_start or wall < quiet_end


WINDOW_SEPARATOR = "-"


def is_window(entry: str) -> bool:
    return WINDOW_SEPARATOR in entry


def parse_window(entry: str) -> tuple[time, time]:
    start, end = entry.split(WINDOW_SEPARATOR)
    return time.fromisoformat(start), time.fromisoformat(end)


def parse_times(values: list[str] | tuple[str, ...]) -> tuple[time, ...]:
    """The fixed wall times among the entries (windows are drawn per day, see `draw_in_window`)."""
    return tuple(time.fromisoformat(value) for value in values if not is_window(value))


@lru_cache(maxsize=65536)
def draw_in_window(
    *, seed: int, day: date, entry: str, tz_name: str, quiet_start: time | None, quiet_end: time | None
) -> datetime | None:
    """The instant (UTC, whole minute) of a window entry on one local day, or None when every minute
    of the window is in quiet hours (or the window lies in a spring-forward gap).

    Uniform over the window's real minutes that are not quiet: the bounds are resolved to instants
    first, so a window across a DST change covers the hours that actually pass (an hour fewer or
    more), and a quiet minute is never a candidate, so no draw lands in quiet hours. The choice comes
    from SHA-256 of (seed = the schedule id, local date, entry): the same on every process, retry and
    recomputation (Python's `hash` is salted per process and `random`'s algorithms may change between
    versions), different per day and per entry."""
    start, end = parse_window(entry)
    tz = zone(tz_name)
    low, high = resolve_local(day, start, tz), resolve_local(day, end, tz)
    candidates = [
        instant
        for minute in range(int((high - low).total_seconds()) // 60)
        if not in_quiet_hours(
            instant := low + timedelta(minutes=minute), tz_name=tz_name, quiet_start=quiet_start, quiet_end=quiet_end
        )
    ]
    if not candidates:
        return None
    digest = hashlib.sha256(f"{seed}|{day.isoformat()}|{entry}".encode()).digest()
    return candidates[int.from_bytes(digest[:8], "big") % len(candidates)]


@lru_cache(maxsize=4096)
def wall_times(times: tuple[str, ...], quiet_start: time | None, quiet_end: time | None) -> tuple[time, ...]:
    """The day's fixed wall times after applying quiet hours, sorted and deduplicated."""
    result: set[time] = set()
    for wall in parse_times(times):
        if quiet_start is not None and quiet_end is not None and quiet_start != quiet_end:
            if quiet_start < quiet_end:  # e.g. 12:00-14:00, within one day
                if quiet_start <= wall < quiet_end:
                    wall = quiet_end
            elif wall >= quiet_start:  # wraps midnight; the end is tomorrow: drop
                continue
            elif wall < quiet_end:
                wall = quiet_end
        result.add(wall)
    return tuple(sorted(result))


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _wall(dt: datetime) -> datetime:
    return dt.replace(tzinfo=None, fold=0)


def resolve_local(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time: the first occurrence if ambiguous, the next valid minute
    if it does not exist."""
    naive = datetime.combine(day, wall)
    instant = naive.replace(tzinfo=tz).astimezone(UTC)  # fold=0: the earlier offset
    if _wall(instant.astimezone(tz)) == naive:
        return instant
    candidate = naive.replace(second=0, microsecond=0)
    for _ in range(24 * 60):  # gaps are at most a few hours (a day for a date-line jump)
        candidate += timedelta(minutes=1)
        instant = candidate.replace(tzinfo=tz).astimezone(UTC)
        if _wall(instant.astimezone(tz)) == candidate:
            return instant
    raise ValueError(f"no valid local time after {naive} in {tz}")  # pragma: no cover - no such zone


def next_slot(
    *,
    after: datetime,
    tz_name: str,
    times: list[str] | tuple[str, ...],
    weekdays: list[int] | tuple[int, ...],
    quiet_start: time | None = None,
    quiet_end: time | None = None,
    not_before: datetime | None = None,
    seed: int = 0,
) -> datetime | None:
    """The first slot strictly after `after` (and at or after `not_before`), in UTC; None if none.
    `seed` (the schedule id) picks the draws of window entries."""
    walls = wall_times(tuple(times), quiet_start, quiet_end)
    windows = [entry for entry in times if is_window(entry)]
    days = frozenset(weekdays)
    if not (walls or windows) or not days:
        return None
    tz = zone(tz_name)
    start = after if not_before is None or not_before <= after else not_before
    # Start a day early: near midnight a UTC instant and its local wall time are on different dates.
    first_day = start.astimezone(tz).date() - timedelta(days=1)
    for offset in range(SEARCH_DAYS + 1):
        day = first_day + timedelta(days=offset)
        if day.isoweekday() not in days:
            continue
        instants = [resolve_local(day, wall, tz) for wall in walls]
        for entry in windows:
            drawn = draw_in_window(
                seed=seed, day=day, entry=entry, tz_name=tz_name, quiet_start=quiet_start, quiet_end=quiet_end
            )
            if drawn is not None:
                instants.append(drawn)
        for instant in sorted(instants):
            if instant > after and (not_before is None or instant >= not_before):
                return instant
    return None  # only when every window is entirely quiet and there is no fixed time
