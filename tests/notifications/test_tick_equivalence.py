"""Issue 14 (B5): the optimised tick (tuples, one chained ledger statement, memoised slot maths) makes
exactly the deliveries, inbox items, dispatches and schedule moves of the tick it replaced, on the same
data, over ticks that cross DST changes in several timezones, quiet hours, pauses, skip_if_done and
back-off. The old tick is kept verbatim in tests/legacy (commit 4a0937d)."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from notifications.models import Delivery, Dispatch, InboxItem, ReminderSchedule
from notifications.services import reminders
from notifications.services.devices import device_register
from tests.factories import UserFactory
from tests.legacy import reminders_4a0937d as legacy
from tests.notifications.factories import make_checkin, make_schedule

pytestmark = pytest.mark.django_db

ZONES = ["Europe/Berlin", "America/Los_Angeles", "Pacific/Auckland", "Asia/Kolkata", "America/Santiago", "UTC"]
# Just before quiet hours (quiet at send time when late), five minutes apart (superseded), inside a
# DST gap (02:30 on 29 March in Berlin), near midnight.
TIMES = ["00:30", "02:30", "07:00", "09:00", "09:05", "11:55", "12:15", "20:00", "21:55", "23:30"]
STATE = ["next_due_at", "last_slot_at", "unopened_streak", "backoff_skipped_last", "sent_count", "claim_token"]
# Europe leaves winter time on 29 March 2026, Auckland and Santiago leave summer time on 5 April.
START = datetime(2026, 3, 27, 0, tzinfo=UTC)


def populate(rng: random.Random) -> None:
    for i in range(60):
        user = UserFactory(timezone=ZONES[i % len(ZONES)])
        if rng.random() < 0.5:
            device_register(user=user, platform="android", token=f"tok-{i}-a")
            if rng.random() < 0.3:
                device_register(user=user, platform="ios", token=f"tok-{i}-b")
        make_schedule(
            user,
            times=rng.sample(TIMES, rng.randint(1, 4)),
            weekdays=sorted(rng.sample(range(1, 8), rng.randint(1, 7))),
            quiet=rng.choice([None, ("22:00", "07:00"), ("12:00", "14:00")]),
            skip_if_done=rng.random() < 0.5,
            channels=rng.choice([["inbox"], ["inbox", "push"], ["inbox", "push", "email"], ["inbox", "email"]]),
            paused_until=START + timedelta(days=2) if rng.random() < 0.1 else None,
            enabled=rng.random() > 0.05,
            now=START,
        )
        for day in range(10):
            if rng.random() < 0.3:
                make_checkin(user, occurred_at=START + timedelta(days=day, hours=rng.randint(0, 23)))
    # Some users start with a back-off streak (they ignored their last nudges).
    for schedule in ReminderSchedule.objects.all():
        if rng.random() < 0.3:
            schedule.unopened_streak = rng.randint(2, 5)
            schedule.save(update_fields=["unopened_streak"])


def outcome() -> dict:
    key = {d.id: (d.user_id, d.kind, d.slot) for d in Delivery.objects.all()}
    return {
        "deliveries": sorted(
            Delivery.objects.values_list(
                "user_id", "kind", "slot", "status", "skip_reason", "title", "body", "deep_link"
            ),
            key=str,
        ),
        "inbox": sorted(
            (key[d], u, k, t, b, link)
            for d, u, k, t, b, link in InboxItem.objects.values_list(
                "delivery_id", "user_id", "kind", "title", "body", "deep_link"
            )
        ),
        "dispatches": sorted(
            (
                (key[d], c, str(dev), s, e)
                for d, c, dev, s, e in Dispatch.objects.values_list(
                    "delivery_id", "channel", "device_id", "status", "last_error"
                )
            ),
            key=str,
        ),
        "schedules": sorted(ReminderSchedule.objects.values_list("user_id", *STATE), key=str),
    }


def run_ticks(job, rng_seed: int) -> dict:
    rng = random.Random(rng_seed)
    now = START
    while now < START + timedelta(days=10):
        now += timedelta(minutes=rng.choice([7, 15, 40, 95, 180, 300]))  # sometimes late: missed, superseded
        job.reminders_job(now=now)
    return outcome()


def test_the_new_tick_makes_the_same_deliveries_as_the_old_one(settings):
    settings.REMINDER_BATCH_SIZE = 17  # several batches per tick
    settings.REMINDER_GRACE_SECONDS = 2 * 3600  # late sends within grace: superseded and quiet happen
    populate(random.Random(11))
    initial = {row[0]: row[1:] for row in ReminderSchedule.objects.values_list("id", *STATE)}

    old = run_ticks(legacy, rng_seed=5)

    Delivery.objects.all().delete()  # cascades to inbox items and dispatches
    for pk, values in initial.items():
        ReminderSchedule.objects.filter(pk=pk).update(**dict(zip(STATE, values, strict=True)))
    new = run_ticks(reminders, rng_seed=5)

    assert len(old["deliveries"]) > 500
    assert {row[3] for row in old["deliveries"]} == {"sent", "skipped"}
    assert {row[4] for row in old["deliveries"]} >= {"", "missed", "done", "quiet", "superseded", "backoff"}
    assert old["dispatches"], "push and email dispatches are compared too"
    assert new == old
