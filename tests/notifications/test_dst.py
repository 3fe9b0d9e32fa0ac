"""Time travel across DST in both directions, in four timezones: exactly one nudge per local slot.

The tick runs every 10 minutes of (travelled) wall-clock time through each transition weekend.
Slots: 01:30, 02:30 and 09:00 local, which cover the spring-forward gap (02:30 does not exist in
Berlin, Los Angeles or Auckland that night: it moves to 03:00, the next valid minute) and the
fall-back overlap (02:30 in Berlin and Auckland, 01:30 in Los Angeles happen twice: fired once, at
the first occurrence). Kolkata has no DST and is the control."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from notifications.models import Delivery, ReminderSchedule
from notifications.scheduler import run_tick
from tests.factories import UserFactory
from tests.notifications.factories import make_checkin, make_schedule
from tracker.accounts.services import user_update

pytestmark = pytest.mark.django_db

TIMES = ["01:30", "02:30", "09:00"]
# (zone, transition date, kind)
TRANSITIONS = [
    ("Europe/Berlin", date(2026, 3, 29), "spring"),
    ("Europe/Berlin", date(2026, 10, 25), "fall"),
    ("America/Los_Angeles", date(2026, 3, 8), "spring"),
    ("America/Los_Angeles", date(2026, 11, 1), "fall"),
    ("Pacific/Auckland", date(2026, 9, 27), "spring"),
    ("Pacific/Auckland", date(2026, 4, 5), "fall"),
]
GAP = {"Europe/Berlin": "02:30", "America/Los_Angeles": "02:30", "Pacific/Auckland": "02:30"}
OVERLAP = {"Europe/Berlin": "02:30", "America/Los_Angeles": "01:30", "Pacific/Auckland": "02:30"}


@pytest.fixture(autouse=True)
def _no_backoff(settings):
    # These users never open a nudge; back-off (tested in test_tick) would thin out the slots.
    settings.REMINDER_BACKOFF_AFTER = 10_000


def tick_through(start: datetime, end: datetime, step=timedelta(minutes=10)) -> None:
    moment = start
    with time_machine.travel(moment, tick=False) as traveller:
        while moment <= end:
            traveller.move_to(moment)
            run_tick(now=timezone.now())
            moment += step


def local_slots(user) -> list[datetime]:
    tz = ZoneInfo(user.timezone)
    return [
        d.slot.astimezone(tz) for d in Delivery.objects.filter(user=user, kind="nudge", status="sent").order_by("slot")
    ]


@pytest.mark.parametrize(("zone", "day", "kind"), TRANSITIONS, ids=[f"{z}-{k}" for z, _, k in TRANSITIONS])
def test_exactly_one_nudge_per_local_slot_across_a_dst_transition(zone, day, kind):
    tz = ZoneInfo(zone)
    user = UserFactory(timezone=zone)
    control = UserFactory(timezone="Asia/Kolkata")
    start = datetime.combine(day - timedelta(days=1), time(0, 5), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(23, 55), tzinfo=tz).astimezone(UTC)
    with time_machine.travel(start - timedelta(minutes=1), tick=False):
        make_schedule(user, times=TIMES)
        make_schedule(control, times=TIMES)

    tick_through(start, end)

    slots = local_slots(user)
    by_day: dict[date, list[str]] = {}
    for slot in slots:
        by_day.setdefault(slot.date(), []).append(slot.strftime("%H:%M"))
    for other_day in (day - timedelta(days=1), day + timedelta(days=1)):
        assert by_day[other_day] == TIMES, (other_day, by_day)
    if kind == "spring":
        # The nonexistent 02:30 moved to 03:00, the next valid minute, and fired once.
        expected = sorted({*TIMES, "03:00"} - {GAP[zone]})
        assert by_day[day] == expected
    else:
        assert by_day[day] == TIMES  # the ambiguous one fired exactly once...
        overlap = next(s for s in slots if s.date() == day and s.strftime("%H:%M") == OVERLAP[zone])
        assert overlap.fold == 0 and overlap.utcoffset() > tz.utcoffset(datetime.combine(day, time(12)))  # ...first

    assert len(slots) == len(set(slots))
    assert not Delivery.objects.filter(user=user, status="skipped").exists()
    # The no-DST control user got every slot, at its wall time, in the same run.
    control_times = [s.strftime("%H:%M") for s in local_slots(control)]
    assert set(control_times) == set(TIMES) and len(control_times) % 3 == 0 and len(control_times) >= 6


def test_quiet_hours_move_or_drop_slots_and_skip_if_done_is_respected_across_spring_forward():
    zone, day = "Europe/Berlin", date(2026, 3, 29)
    tz = ZoneInfo(zone)
    user = UserFactory(timezone=zone)
    start = datetime.combine(day - timedelta(days=1), time(0, 5), tzinfo=tz).astimezone(UTC)
    with time_machine.travel(start - timedelta(minutes=1), tick=False):
        # 06:00 is inside 22:00-07:00 → 07:00; 23:00 would end tomorrow → dropped; 12:30 is outside.
        make_schedule(user, times=["06:00", "12:30", "23:00"], quiet=("22:00", "07:00"), skip_if_done=True)
    # Checked in on the morning of the transition, after the 07:00 nudge: the 12:30 one is skipped.
    make_checkin(user, occurred_at=datetime.combine(day, time(10, 0), tzinfo=tz))

    tick_through(start, datetime.combine(day, time(23, 55), tzinfo=tz).astimezone(UTC))

    sent = [s.strftime("%m-%d %H:%M %Z") for s in local_slots(user)]
    assert sent == ["03-28 07:00 CET", "03-28 12:30 CET", "03-29 07:00 CEST"]
    skipped = Delivery.objects.get(user=user, status="skipped")
    assert skipped.skip_reason == "done"
    assert skipped.slot.astimezone(tz).strftime("%m-%d %H:%M") == "03-29 12:30"


def test_a_timezone_change_on_the_profile_reschedules_to_the_new_local_time():
    user = UserFactory(timezone="Europe/Berlin")
    now = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)  # 07:00 in Berlin
    with time_machine.travel(now, tick=False):
        make_schedule(user, times=["09:00"])
        assert ReminderSchedule.objects.get(user=user).next_due_at == datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
        user_update(user=user, timezone="Asia/Kolkata")  # 10:30 there: today's 09:00 has passed
    schedule = ReminderSchedule.objects.get(user=user)
    assert schedule.next_due_at == datetime(2026, 6, 2, 3, 30, tzinfo=UTC)  # 09:00 IST tomorrow

    tick_through(now, now + timedelta(days=1, hours=2))
    assert [s.strftime("%m-%d %H:%M") for s in local_slots(user)] == ["06-02 09:00"]
    assert local_slots(user)[0].utcoffset() == timedelta(hours=5, minutes=30)
