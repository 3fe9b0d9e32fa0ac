"""The reminder tick: exactly one ledger row per slot, grace window, skip_if_done, back-off, pause."""

import itertools
import os
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection

from notifications.jobs import dispatch_job, reminders_job
from notifications.models import Delivery, Dispatch, InboxItem, ReminderSchedule
from notifications.scheduler import run_tick
from notifications.services.inbox import inbox_item_mark
from tests.factories import UserFactory
from tests.notifications.factories import make_checkin, make_schedule

pytestmark = pytest.mark.django_db

# Europe/Berlin is UTC+1 in January: 09:00 local = 08:00 UTC.
MORNING = datetime(2026, 1, 12, 8, 0, tzinfo=UTC)


def nudges(user, status=None):
    qs = Delivery.objects.filter(user=user, kind="nudge").order_by("slot")
    return list(qs.filter(status=status) if status else qs)


def test_a_due_nudge_is_recorded_once_sent_to_the_inbox_and_the_schedule_advances():
    user = UserFactory(timezone="Europe/Berlin")
    schedule = make_schedule(user, times=["09:00"], now=MORNING - timedelta(hours=1))
    assert schedule.next_due_at == MORNING

    assert reminders_job(now=MORNING - timedelta(minutes=1)) == 0  # not yet due
    assert reminders_job(now=MORNING + timedelta(seconds=30)) == 1

    [delivery] = nudges(user)
    assert (delivery.slot, delivery.status) == (MORNING, "sent")
    item = InboxItem.objects.get(user=user)
    assert item.delivery == delivery and item.title and "check-in" in item.body.lower()
    schedule.refresh_from_db()
    assert schedule.next_due_at == MORNING + timedelta(days=1)
    assert schedule.last_slot_at == MORNING


def test_running_the_tick_again_or_replaying_a_slot_never_sends_twice():
    user = UserFactory(timezone="Europe/Berlin")
    make_schedule(user, times=["09:00"], now=MORNING - timedelta(hours=1))
    reminders_job(now=MORNING)
    reminders_job(now=MORNING)
    # A stale writer puts the slot back (as if the advance had been lost): the ledger still wins.
    ReminderSchedule.objects.filter(user=user).update(next_due_at=MORNING)
    assert reminders_job(now=MORNING + timedelta(minutes=1)) == 1
    assert len(nudges(user)) == 1
    assert InboxItem.objects.filter(user=user).count() == 1
    assert ReminderSchedule.objects.get(user=user).next_due_at == MORNING + timedelta(days=1)


def test_a_slot_missed_by_more_than_the_grace_window_is_recorded_as_skipped_not_sent(settings):
    user = UserFactory(timezone="Europe/Berlin")
    make_schedule(user, times=["09:00"], now=MORNING - timedelta(hours=1))
    # Beat was down until 3 h after the slot.
    reminders_job(now=MORNING + timedelta(hours=3))
    [delivery] = nudges(user)
    assert (delivery.status, delivery.skip_reason) == ("skipped", "missed")
    assert not InboxItem.objects.filter(user=user).exists()

    settings.REMINDER_GRACE_SECONDS = 4 * 3600  # inside a longer window it would have gone out
    other = UserFactory(timezone="Europe/Berlin")
    make_schedule(other, times=["09:00"], now=MORNING - timedelta(hours=1))
    reminders_job(now=MORNING + timedelta(hours=3))
    assert [d.status for d in nudges(other)] == ["sent"]


def test_after_an_outage_only_the_latest_due_slot_is_sent_and_the_rest_are_accounted_for():
    user = UserFactory(timezone="Europe/Berlin")
    # Set at 08:00 local two days ago, so the first slot is that day's 09:00.
    make_schedule(user, times=["09:00", "10:00", "11:00"], now=MORNING - timedelta(days=2, hours=1))
    # Down for two days; back at 11:10 local (10:10 UTC), inside the 15-minute grace window.
    reminders_job(now=MORNING + timedelta(hours=2, minutes=10))
    deliveries = nudges(user)
    sent = [d for d in deliveries if d.status == "sent"]
    assert [d.slot for d in sent] == [MORNING + timedelta(hours=2)]
    assert {d.skip_reason for d in deliveries if d.status == "skipped"} == {
        "missed"
    }  # with a 15-minute grace an hourly slot is missed before superseded
    assert len(deliveries) == 3 * 3  # every slot since the schedule was set: 3 days x 3
    assert InboxItem.objects.filter(user=user).count() == 1


def test_skip_if_done_skips_when_the_user_checked_in_since_the_previous_slot():
    done, deleted_only, not_done = UserFactory.create_batch(3, timezone="Europe/Berlin")
    for user in (done, deleted_only, not_done):
        make_schedule(user, times=["09:00"], skip_if_done=True, now=MORNING - timedelta(days=1, hours=2))
    reminders_job(now=MORNING - timedelta(days=1))  # yesterday's slot: everyone gets it
    make_checkin(done, occurred_at=MORNING - timedelta(hours=5))
    make_checkin(deleted_only, occurred_at=MORNING - timedelta(hours=5), deleted=True)
    make_checkin(not_done, occurred_at=MORNING - timedelta(days=1, hours=1))  # before the previous slot

    reminders_job(now=MORNING)
    assert [d.status for d in nudges(done)] == ["sent", "skipped"]
    assert nudges(done)[1].skip_reason == "done"
    assert [d.status for d in nudges(deleted_only)] == ["sent", "sent"]
    assert [d.status for d in nudges(not_done)] == ["sent", "sent"]


def test_after_three_unopened_nudges_only_every_other_slot_is_sent_until_one_is_opened():
    user = UserFactory(timezone="Europe/Berlin")
    make_schedule(user, times=["09:00"], now=MORNING - timedelta(hours=1))
    for day in range(7):
        reminders_job(now=MORNING + timedelta(days=day))
    statuses = [d.status for d in nudges(user)]
    assert statuses == ["sent", "sent", "sent", "skipped", "sent", "skipped", "sent"]
    assert {d.skip_reason for d in nudges(user, "skipped")} == {"backoff"}
    # Different texts on consecutive nudges.
    bodies = [i.body for i in InboxItem.objects.filter(user=user).order_by("created_at")]
    assert all(a != b for a, b in itertools.pairwise(bodies))

    latest = InboxItem.objects.filter(user=user).latest("created_at")
    inbox_item_mark(user=user, item_id=latest.id, opened=True)
    for day in range(7, 10):
        reminders_job(now=MORNING + timedelta(days=day))
    assert [d.status for d in nudges(user)][7:] == ["sent", "sent", "sent"]


def test_a_disabled_or_paused_schedule_sends_nothing_until_the_pause_ends():
    off, paused = UserFactory.create_batch(2, timezone="Europe/Berlin")
    assert make_schedule(off, times=["09:00"], enabled=False, now=MORNING - timedelta(hours=1)).next_due_at is None
    schedule = make_schedule(
        paused, times=["09:00"], paused_until=MORNING + timedelta(days=2), now=MORNING - timedelta(hours=1)
    )
    assert schedule.next_due_at == MORNING + timedelta(days=2)
    for day in range(3):
        reminders_job(now=MORNING + timedelta(days=day))
    assert nudges(off) == []
    assert [d.slot for d in nudges(paused)] == [MORNING + timedelta(days=2)]


def test_email_channel_sends_one_email_through_the_outbox_and_logs_the_attempt():
    user = UserFactory(timezone="Europe/Berlin")
    make_schedule(user, times=["09:00"], channels=["email"], now=MORNING - timedelta(hours=1))
    with time_machine.travel(MORNING, tick=False):
        run_tick(now=MORNING)
        run_tick(now=MORNING + timedelta(minutes=1))
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]
    dispatch = Dispatch.objects.get(delivery__user=user)
    assert (dispatch.channel, dispatch.status, dispatch.attempts) == ("email", "sent", 1)
    [attempt] = dispatch.attempts_log.all()
    assert attempt.status == "ok" and attempt.duration_ms >= 0


def test_push_without_credentials_is_recorded_as_disabled_not_faked(settings):
    from notifications.services.devices import device_register

    settings.FCM_SERVICE_ACCOUNT_FILE = settings.FCM_SERVICE_ACCOUNT_JSON = ""
    user = UserFactory(timezone="Europe/Berlin")
    device_register(user=user, platform="android", token="tok-1")
    make_schedule(user, times=["09:00"], channels=["inbox", "push"], now=MORNING - timedelta(hours=1))
    run_tick(now=MORNING)
    dispatch = Dispatch.objects.get(delivery__user=user)
    assert (dispatch.status, dispatch.last_error) == ("disabled", "push not configured")
    assert not dispatch.attempts_log.exists()
    assert dispatch_job(now=MORNING) == 0


def test_tick_queries_are_bounded_by_batches_not_users(settings, django_assert_max_num_queries):
    from tracker.models import User

    settings.REMINDER_BATCH_SIZE = 250
    users = User.objects.bulk_create(
        [User(email=f"load{i}@example.test", timezone="Europe/Berlin", password="!") for i in range(1000)]
    )
    schedules = [
        ReminderSchedule(
            user=u,
            times=["09:00"],
            weekdays=[1, 2, 3, 4, 5, 6, 7],
            channels=["inbox", "push"],
            skip_if_done=True,
            next_due_at=MORNING,
        )
        for u in users
    ]
    ReminderSchedule.objects.bulk_create(schedules)
    # 4 batches of 250: claim, check-ins, ledger insert, inbox insert, devices, schedule update (+ savepoint
    # bookkeeping) each, plus one final empty claim. A query per user would be > 1000.
    with django_assert_max_num_queries(4 * 9 + 4) as captured:
        assert reminders_job(now=MORNING) == 1000
    assert Delivery.objects.filter(status="sent").count() == 1000
    assert InboxItem.objects.count() == 1000
    per_batch = len(captured.captured_queries)

    Delivery.objects.all().delete()
    ReminderSchedule.objects.update(next_due_at=MORNING)
    settings.REMINDER_BATCH_SIZE = 500
    with django_assert_max_num_queries(2 * 9 + 4) as captured:
        assert reminders_job(now=MORNING) == 1000
    assert len(captured.captured_queries) < per_batch


@pytest.mark.postgres
@pytest.mark.skipif(not os.getenv("DATABASE_URL"), reason="concurrent claims need PostgreSQL (DATABASE_URL)")
@pytest.mark.django_db(transaction=True, available_apps=django_settings.INSTALLED_APPS)
def test_two_ticks_running_at_once_send_each_nudge_exactly_once(settings):
    from tracker.models import User

    settings.REMINDER_BATCH_SIZE = 50  # many small batches, so the two ticks interleave
    users = User.objects.bulk_create(
        [User(email=f"race{i}@example.test", timezone="Europe/Berlin", password="!") for i in range(400)]
    )
    ReminderSchedule.objects.bulk_create(
        ReminderSchedule(
            user=u, times=["09:00"], weekdays=[1, 2, 3, 4, 5, 6, 7], channels=["inbox"], next_due_at=MORNING
        )
        for u in users
    )
    start = threading.Barrier(2)
    counts: list[int] = []

    def tick():
        try:
            start.wait()
            counts.append(reminders_job(now=MORNING))
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(counts) == 2 and sum(counts) == 400, counts  # no schedule was claimed by both ticks
    assert Delivery.objects.count() == 400
    assert InboxItem.objects.count() == 400
    assert not ReminderSchedule.objects.filter(next_due_at__lte=MORNING).exists()
