"""Pure tests of notifications.slots and notifications.planning: quiet hours (same-day and overnight
windows and their edges), the grace window, DST gaps (02:15 and 02:30) and overlaps, weekly schedules.
Written to kill mutants (mutmut) as well as to document the rules."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from notifications.planning import SlotPlan, plan_slot
from notifications.slots import in_quiet_hours, next_slot, parse_times, resolve_local, wall_times, zone

BERLIN = ZoneInfo("Europe/Berlin")
T = time.fromisoformat


# --- wall_times: quiet hours applied to the day's wall times ---------------------------------------
@pytest.mark.parametrize(
    ("wall", "expected"),
    [
        ("11:59", "11:59"),  # before a same-day window
        ("12:00", "14:00"),  # at its start: moved to its end
        ("13:30", "14:00"),  # inside
        ("13:59", "14:00"),  # last minute inside
        ("14:00", "14:00"),  # at its end: allowed
        ("18:00", "18:00"),  # after
    ],
)
def test_a_same_day_quiet_window_moves_times_inside_it_to_its_end(wall, expected):
    assert wall_times((wall,), T("12:00"), T("14:00")) == (T(expected),)


@pytest.mark.parametrize(
    ("wall", "expected"),
    [
        ("21:59", ("21:59",)),  # before an overnight window
        ("22:00", ()),  # at its start: the end is tomorrow, dropped
        ("23:30", ()),
        ("00:00", ("07:00",)),  # after midnight, inside: moved to its end
        ("06:59", ("07:00",)),
        ("07:00", ("07:00",)),  # at its end
        ("12:00", ("12:00",)),  # outside
    ],
)
def test_an_overnight_quiet_window_drops_late_times_and_moves_early_ones(wall, expected):
    assert wall_times((wall,), T("22:00"), T("07:00")) == tuple(T(e) for e in expected)


def test_no_quiet_hours_when_unset_or_equal_and_times_come_sorted_and_unique():
    times = ("18:00", "09:00", "09:00", "12:30")
    expected = (T("09:00"), T("12:30"), T("18:00"))
    assert wall_times(times, None, None) == expected
    assert wall_times(times, T("09:00"), None) == expected
    assert wall_times(times, None, T("10:00")) == expected
    assert wall_times(times, T("09:00"), T("09:00")) == expected
    # Two times moved to the same quiet end collapse into one.
    assert wall_times(("12:10", "12:20", "15:00"), T("12:00"), T("13:00")) == (T("13:00"), T("15:00"))
    assert parse_times(["07:05"]) == (T("07:05"),)


# --- in_quiet_hours: the same rule at send time ------------------------------------------------------
def at(local: str, day: date = date(2026, 1, 12)) -> datetime:
    return datetime.combine(day, T(local), tzinfo=BERLIN).astimezone(UTC)


@pytest.mark.parametrize(
    ("local", "quiet"),
    [("11:59", False), ("12:00", True), ("13:59", True), ("14:00", False), ("23:00", False), ("00:00", False)],
)
def test_in_quiet_hours_for_a_same_day_window(local, quiet):
    assert in_quiet_hours(at(local), tz_name="Europe/Berlin", quiet_start=T("12:00"), quiet_end=T("14:00")) is quiet


@pytest.mark.parametrize(
    ("local", "quiet"),
    [("21:59", False), ("22:00", True), ("23:59", True), ("00:00", True), ("06:59", True), ("07:00", False)],
)
def test_in_quiet_hours_for_an_overnight_window(local, quiet):
    assert in_quiet_hours(at(local), tz_name="Europe/Berlin", quiet_start=T("22:00"), quiet_end=T("07:00")) is quiet


def test_in_quiet_hours_uses_the_local_wall_clock_and_ignores_unset_or_empty_windows():
    instant = at("12:30")  # 11:30 UTC
    assert not in_quiet_hours(instant, tz_name="UTC", quiet_start=T("12:00"), quiet_end=T("14:00"))
    assert in_quiet_hours(instant, tz_name="Europe/Berlin", quiet_start=T("12:00"), quiet_end=T("14:00"))
    for start, end in ((None, None), (T("12:00"), None), (None, T("14:00")), (T("12:00"), T("12:00"))):
        assert not in_quiet_hours(instant, tz_name="Europe/Berlin", quiet_start=start, quiet_end=end)


# --- resolve_local: DST gaps and overlaps ------------------------------------------------------------
SPRING = date(2026, 3, 29)  # Berlin: 02:00 → 03:00
FALL = date(2026, 10, 25)  # Berlin: 03:00 → 02:00


@pytest.mark.parametrize("wall", ["02:00", "02:15", "02:30", "02:59", "02:15:30"])
def test_a_time_in_the_spring_gap_moves_to_the_next_valid_minute(wall):
    assert resolve_local(SPRING, T(wall), BERLIN) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST


def test_times_around_the_gap_are_exact():
    assert resolve_local(SPRING, T("01:59"), BERLIN) == datetime(2026, 3, 29, 0, 59, tzinfo=UTC)
    assert resolve_local(SPRING, T("03:00"), BERLIN) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert resolve_local(SPRING, T("03:01"), BERLIN) == datetime(2026, 3, 29, 1, 1, tzinfo=UTC)


def test_a_gap_of_half_an_hour_moves_a_02_15_slot_to_02_30():
    lord_howe = ZoneInfo("Australia/Lord_Howe")  # 02:00 → 02:30 on 2026-10-04
    got = resolve_local(date(2026, 10, 4), T("02:15"), lord_howe)
    assert got.astimezone(lord_howe).time() == T("02:30")


def test_an_ambiguous_time_resolves_to_its_first_occurrence():
    assert resolve_local(FALL, T("02:15"), BERLIN) == datetime(2026, 10, 25, 0, 15, tzinfo=UTC)  # CEST
    assert resolve_local(FALL, T("03:00"), BERLIN) == datetime(2026, 10, 25, 2, 0, tzinfo=UTC)
    assert zone("Europe/Berlin") is zone("Europe/Berlin")


# --- next_slot: weekly schedules, strictness, not_before ---------------------------------------------
MON = datetime(2026, 1, 12, 8, 0, tzinfo=UTC)  # Monday 09:00 Berlin


def slot(after, weekdays, times=("09:00",), **kw):
    return next_slot(after=after, tz_name="Europe/Berlin", times=times, weekdays=weekdays, **kw)


def test_next_slot_is_strictly_after():
    assert slot(MON - timedelta(seconds=1), [1, 2, 3, 4, 5, 6, 7]) == MON
    assert slot(MON, [1, 2, 3, 4, 5, 6, 7]) == MON + timedelta(days=1)


@pytest.mark.parametrize(
    ("weekdays", "days_later"),
    [([1], 7), ([2], 1), ([7], 6), ([3, 5], 2), ([1, 4], 3)],
)
def test_a_weekly_schedule_fires_only_on_its_weekdays(weekdays, days_later):
    assert slot(MON, weekdays) == MON + timedelta(days=days_later)


def test_a_weekly_schedule_on_the_same_weekday_later_that_day():
    assert slot(MON, [1], times=("09:00", "18:00")) == MON + timedelta(hours=9)
    assert slot(MON - timedelta(hours=1), [1]) == MON


def test_a_weekly_slot_is_found_across_a_spring_gap_at_02_15():
    after = datetime(2026, 3, 22, 12, 0, tzinfo=UTC)  # Sunday before the transition
    assert slot(after, [7], times=("02:15",)) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert slot(after, [7], times=("02:15",), quiet_start=T("02:00"), quiet_end=T("02:30")) == datetime(
        2026, 3, 29, 1, 0, tzinfo=UTC
    )


def test_not_before_pushes_the_first_slot_later_but_never_earlier_than_after():
    every = [1, 2, 3, 4, 5, 6, 7]
    assert slot(MON - timedelta(hours=1), every, not_before=MON + timedelta(hours=1)) == MON + timedelta(days=1)
    assert slot(MON - timedelta(hours=1), every, not_before=MON) == MON  # at not_before is allowed
    assert slot(MON, every, not_before=MON - timedelta(days=3)) == MON + timedelta(days=1)


def test_no_slot_without_times_or_weekdays_or_when_quiet_hours_drop_everything():
    assert slot(MON, []) is None
    assert slot(MON, [1], times=()) is None
    assert slot(MON, [1], times=("23:00",), quiet_start=T("22:00"), quiet_end=T("07:00")) is None


def test_near_midnight_the_local_date_decides():
    auckland_after = datetime(2026, 1, 12, 10, 30, tzinfo=UTC)  # Monday 23:30 in Auckland
    got = next_slot(after=auckland_after, tz_name="Pacific/Auckland", times=["00:15"], weekdays=[2])
    assert got == datetime(2026, 1, 12, 11, 15, tzinfo=UTC)  # Tuesday 00:15 local, 45 minutes later


# --- plan_slot ---------------------------------------------------------------------------------------
GRACE = timedelta(minutes=15)


def plan(now, following=None, **kw) -> SlotPlan:
    args = {
        "slot": MON,
        "following": following,
        "now": now,
        "grace": GRACE,
        "checked_in": False,
        "unopened_streak": 0,
        "backoff_skipped_last": False,
        "backoff_after": 3,
    }
    args.update(kw)
    return plan_slot(**args)


def test_the_grace_window_edges():
    assert plan(MON + GRACE) == SlotPlan("sent", "", 1, False)
    assert plan(MON + GRACE + timedelta(seconds=1)) == SlotPlan("skipped", "missed", 0, False)
    assert plan(MON) == SlotPlan("sent", "", 1, False)


def test_missed_keeps_the_streak_and_superseded_needs_the_following_slot_due():
    assert plan(MON + timedelta(hours=1), unopened_streak=2, backoff_skipped_last=True) == SlotPlan(
        "skipped", "missed", 2, True
    )
    now = MON + timedelta(minutes=5)
    assert plan(now, following=now).skip_reason == "superseded"
    assert plan(now, following=now + timedelta(seconds=1)).status == "sent"


def test_quiet_at_send_time_skips_and_comes_after_missed_and_superseded():
    now = MON + timedelta(minutes=5)
    assert plan(now, quiet_at_send=True, unopened_streak=2) == SlotPlan("skipped", "quiet", 2, False)
    assert plan(now, following=now, quiet_at_send=True).skip_reason == "superseded"
    assert plan(MON + timedelta(hours=1), quiet_at_send=True).skip_reason == "missed"


def test_done_resets_the_streak_and_backoff_edges():
    now = MON
    assert plan(now, checked_in=True, unopened_streak=5, backoff_skipped_last=True) == SlotPlan(
        "skipped", "done", 0, False
    )
    assert plan(now, unopened_streak=3) == SlotPlan("skipped", "backoff", 3, True)
    assert plan(now, unopened_streak=2) == SlotPlan("sent", "", 3, False)
    assert plan(now, unopened_streak=3, backoff_skipped_last=True) == SlotPlan("sent", "", 4, False)
    assert plan(now, unopened_streak=4, backoff_after=4) == SlotPlan("skipped", "backoff", 4, True)


def test_instants_are_in_utc_and_seconds_in_a_gap_are_dropped():
    got = resolve_local(SPRING, time(2, 15, 30, 500), BERLIN)
    assert got == datetime(2026, 3, 29, 1, 0, tzinfo=UTC) and got.tzinfo is UTC
    assert resolve_local(FALL, T("09:00"), BERLIN).tzinfo is UTC
    assert slot(MON, [1]).tzinfo is UTC


def test_not_before_beyond_the_search_window_is_searched_from_not_before():
    far = MON + timedelta(days=20)
    assert slot(MON, [1], not_before=far) == MON + timedelta(days=21)
