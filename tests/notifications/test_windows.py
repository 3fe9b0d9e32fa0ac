"""Random-time windows (issue 16 part 3): a schedule entry "HH:MM-HH:MM" nudges once a day at a
minute drawn inside the window, outside quiet hours, reproducibly from (schedule id, local date, entry).

The tick runs through travelled time across DST in two zones with the shipped scheduler and slot
maths; the distribution is checked on the real draw function over many schedules and days."""

import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from notifications.models import Delivery, ReminderSchedule
from notifications.scheduler import run_tick
from notifications.services.reminders import reminders_job
from notifications.services.schedules import schedule_reschedule
from notifications.slots import draw_in_window, in_quiet_hours
from tests.conftest import api_for
from tests.factories import UserFactory
from tests.helpers import assert_error
from tests.notifications.factories import make_schedule

pytestmark = pytest.mark.django_db

WINDOW = "01:00-05:00"  # spans the spring-forward gap and the fall-back overlap in both zones
QUIET = ("02:45", "03:30")
TRANSITIONS = [
    ("Europe/Berlin", date(2026, 3, 29)),
    ("Europe/Berlin", date(2026, 10, 25)),
    ("America/Los_Angeles", date(2026, 3, 8)),
    ("America/Los_Angeles", date(2026, 11, 1)),
]


@pytest.fixture(autouse=True)
def _no_backoff(settings):
    settings.REMINDER_BACKOFF_AFTER = 10_000  # nobody opens these nudges; back-off is tested elsewhere


def _inside(instant: datetime, zone: str, window: str) -> bool:
    """Inside the window by real elapsed time from its resolved start (a fall-back window is an hour
    longer, a spring-forward one an hour shorter)."""
    start, end = (time.fromisoformat(part) for part in window.split("-"))
    local = instant.astimezone(ZoneInfo(zone))
    low = datetime.combine(local.date(), start, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    high = datetime.combine(local.date(), end, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    return low <= instant < high


@pytest.mark.parametrize(("zone", "day"), TRANSITIONS, ids=[f"{z}-{d}" for z, d in TRANSITIONS])
def test_the_tick_sends_one_nudge_per_day_inside_the_window_never_in_quiet_hours_across_dst(zone, day):
    tz = ZoneInfo(zone)
    users = [UserFactory(timezone=zone) for _ in range(4)]
    start = datetime.combine(day - timedelta(days=1), time(0, 5), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(23, 55), tzinfo=tz).astimezone(UTC)
    with time_machine.travel(start - timedelta(minutes=1), tick=False):
        for user in users:
            make_schedule(user, times=[WINDOW, "20:00"], quiet=QUIET)

    # A beat that ticks on each due minute (and every half hour otherwise): a tick late by several
    # minutes could find quiet hours begun and skip the nudge as `quiet` (the send-time re-check).
    moment = start
    with time_machine.travel(moment, tick=False) as traveller:
        while moment <= end:
            traveller.move_to(moment)
            run_tick(now=timezone.now())
            due = ReminderSchedule.objects.filter(next_due_at__gt=moment).order_by("next_due_at").first()
            moment = min(moment + timedelta(minutes=30), due.next_due_at if due else end)

    q_start, q_end = (time.fromisoformat(q) for q in QUIET)
    for user in users:
        schedule = ReminderSchedule.objects.get(user=user)
        sent = list(Delivery.objects.filter(user=user, kind="nudge").order_by("slot"))
        assert all(d.status == "sent" for d in sent), [(d.slot, d.skip_reason) for d in sent]
        drawn = [d.slot for d in sent if d.slot.astimezone(tz).strftime("%H:%M") != "20:00"]
        # exactly one per local day, each the draw of that schedule for that day
        assert [d.astimezone(tz).date() for d in drawn] == [day - timedelta(days=1), day, day + timedelta(days=1)]
        for instant in drawn:
            assert _inside(instant, zone, WINDOW), instant.astimezone(tz)
            assert not in_quiet_hours(instant, tz_name=zone, quiet_start=q_start, quiet_end=q_end)
            assert instant == draw_in_window(
                seed=schedule.id,
                day=instant.astimezone(tz).date(),
                entry=WINDOW,
                tz_name=zone,
                quiet_start=q_start,
                quiet_end=q_end,
            )
    # Four schedules, three days: the draws differ between schedules (not one shared minute).
    minutes = {d.slot.astimezone(tz).strftime("%H:%M") for d in Delivery.objects.filter(kind="nudge")}
    assert len(minutes - {"20:00"}) >= 6


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Los_Angeles"])
@pytest.mark.parametrize("day", [date(2026, 3, 8), date(2026, 3, 29), date(2026, 10, 25), date(2026, 11, 1)])
def test_the_distribution_covers_the_window_and_avoids_quiet_hours(zone, day):
    q_start, q_end = (time.fromisoformat(q) for q in QUIET)
    draws = [
        draw_in_window(seed=seed, day=day, entry=WINDOW, tz_name=zone, quiet_start=q_start, quiet_end=q_end)
        for seed in range(600)
    ]
    assert all(_inside(d, zone, WINDOW) for d in draws)
    assert not any(in_quiet_hours(d, tz_name=zone, quiet_start=q_start, quiet_end=q_end) for d in draws)
    # Spread, not a constant: every whole local hour of the window that is not entirely quiet is hit.
    local_hours = {d.astimezone(ZoneInfo(zone)).hour for d in draws}
    assert {1, 4} <= local_hours and len(set(draws)) > 100
    low = min(draws)
    # Roughly uniform: the first and second half of the window's real minutes each get 35-65 %.
    span = max(draws) - low
    first_half = sum(d - low < span / 2 for d in draws)
    assert 0.35 * len(draws) < first_half < 0.65 * len(draws)


def test_a_window_entirely_in_quiet_hours_is_dropped_for_the_day_and_a_gap_window_never_fires():
    assert draw_in_window(
        seed=1, day=date(2026, 6, 1), entry="23:00-23:30", tz_name="Europe/Berlin",
        quiet_start=time(22, 0), quiet_end=time(7, 0),
    ) is None  # fmt: skip
    # 02:00-03:00 does not exist in Berlin on spring-forward night.
    assert (
        draw_in_window(
            seed=1,
            day=date(2026, 3, 29),
            entry="02:00-03:00",
            tz_name="Europe/Berlin",
            quiet_start=None,
            quiet_end=None,
        )
        is None
    )


def test_the_draw_is_the_same_in_another_process_with_another_hash_seed():
    args = dict(
        seed=42, day=date(2026, 5, 4), entry="09:00-21:00", tz_name="Asia/Kolkata", quiet_start=None, quiet_end=None
    )
    here = draw_in_window(**args).isoformat()
    code = (
        "from datetime import date; from notifications.slots import draw_in_window as d; "
        "print(d(seed=42, day=date(2026, 5, 4), entry='09:00-21:00', tz_name='Asia/Kolkata',"
        " quiet_start=None, quiet_end=None).isoformat())"
    )
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == here
    other_day = draw_in_window(**{**args, "day": date(2026, 5, 5)})
    assert other_day.time() != draw_in_window(**args).time() or other_day.date() != date(2026, 5, 4)


def test_a_retried_tick_sends_the_same_draw_once():
    zone = "Europe/Berlin"
    user = UserFactory(timezone=zone)
    created = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
    with time_machine.travel(created, tick=False):
        make_schedule(user, times=["08:00-20:00"])
    schedule = ReminderSchedule.objects.get(user=user)
    slot = schedule.next_due_at
    assert _inside(slot, zone, "08:00-20:00")

    at = slot + timedelta(minutes=1)
    with time_machine.travel(at, tick=False):
        # The first tick dies after writing the ledger (before advancing): everything rolls back.
        with mock.patch("notifications.services.reminders.update_rows", side_effect=RuntimeError("killed")):
            with pytest.raises(RuntimeError):
                reminders_job(now=at)
        assert not Delivery.objects.filter(user=user).exists()
        assert ReminderSchedule.objects.get(id=schedule.id).next_due_at == slot
        # Recomputing from the same moment (a schedule edit, a restarted scheduler) draws the same slot...
        ReminderSchedule.objects.filter(id=schedule.id).update(next_due_at=None)
        assert schedule_reschedule(user=user, now=created).next_due_at == slot
        run_tick(now=timezone.now())
        run_tick(now=timezone.now())  # ...and a second tick at the same moment sends nothing more
    deliveries = list(Delivery.objects.filter(user=user))
    assert [(d.slot, d.status) for d in deliveries] == [(slot, "sent")]


@pytest.mark.parametrize(
    "entry", ["25:00-26:00", "12:00-09:00", "09:00-09:00", "09:00-", "-09:00", "09:00-10:00-11:00", "9-10", 900]
)
def test_bad_window_entries_are_a_400_and_change_nothing(client_user, entry):
    client = api_for(client_user)
    before = ReminderSchedule.objects.filter(user=client_user).count()
    response = client.put("/api/v1/reminders/", {"times": [entry], "weekdays": [1]}, format="json")
    assert_error(response, 400, fields=["times.0"])
    assert ReminderSchedule.objects.filter(user=client_user).count() == before


def test_a_window_round_trips_through_the_api(client_user):
    client = api_for(client_user)
    with time_machine.travel(datetime(2026, 1, 12, 6, 0, tzinfo=UTC), tick=False):
        body = client.put(
            "/api/v1/reminders/", {"times": ["13:00-17:00", "09:00"], "weekdays": [1]}, format="json"
        ).json()
    assert body["times"] == ["09:00", "13:00-17:00"]
    assert body["next_due_at"] == "2026-01-12T08:00:00Z"
