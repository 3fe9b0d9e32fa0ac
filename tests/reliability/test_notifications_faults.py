"""Issue 13 regressions in the tick and the push ledger: quiet hours at send time, the grace window,
erasure during sends, an honest attempt record."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import OperationalError

from notifications.content import NUDGE_TEXTS
from notifications.jobs import dispatch_job, reminders_job
from notifications.models import Delivery, DeliveryAttempt, Dispatch
from notifications.transports import TRANSPORTS
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.notifications.factories import make_schedule
from tracker.data_rights import services as erasure
from tracker.models import User

pytestmark = pytest.mark.django_db
SLOT = datetime(2026, 1, 12, 13, 47, tzinfo=UTC)  # 14:47 in Berlin


def test_a_late_nudge_is_skipped_when_quiet_hours_began_after_its_slot(settings):
    settings.REMINDER_GRACE_SECONDS = 2 * 3600  # even with a long grace window
    user = UserFactory(timezone="Europe/Berlin")
    make_schedule(user, times=["14:47"], quiet=("14:57", "16:00"), now=SLOT - timedelta(hours=1))
    reminders_job(now=SLOT + timedelta(minutes=20))  # the scheduler was down: 15:07 local
    [delivery] = Delivery.objects.filter(user=user)
    assert (delivery.status, delivery.skip_reason) == ("skipped", "quiet")


def test_a_late_nudge_before_quiet_hours_begin_is_still_sent(settings):
    settings.REMINDER_GRACE_SECONDS = 2 * 3600
    user = UserFactory(timezone="Europe/Berlin")
    make_schedule(user, times=["14:47"], quiet=("14:57", "16:00"), now=SLOT - timedelta(hours=1))
    reminders_job(now=SLOT + timedelta(minutes=9))  # 14:56 local: one minute before quiet hours
    assert Delivery.objects.get(user=user).status == "sent"


def test_an_overnight_quiet_window_holds_for_a_late_send_after_midnight(settings):
    settings.REMINDER_GRACE_SECONDS = 3 * 3600
    user = UserFactory(timezone="Europe/Berlin")
    slot = datetime(2026, 1, 12, 21, 30, tzinfo=UTC)  # 22:30 local
    make_schedule(user, times=["22:30"], quiet=("23:00", "07:00"), now=slot - timedelta(hours=1))
    reminders_job(now=slot + timedelta(hours=1, minutes=40))  # 00:10 local
    assert Delivery.objects.get(user=user).skip_reason == "quiet"


def test_the_grace_window_is_fifteen_minutes_by_default_and_configurable(settings):
    from django.conf import settings as live

    assert live.REMINDER_GRACE_SECONDS == 15 * 60
    user = UserFactory(timezone="Europe/Berlin")
    make_schedule(user, times=["14:47"], now=SLOT - timedelta(hours=1))
    reminders_job(now=SLOT + timedelta(minutes=16))
    assert Delivery.objects.get(user=user).skip_reason == "missed"


def test_a_late_nudge_says_nothing_alarming():
    for title, body in NUDGE_TEXTS:
        text = f"{title} {body}".lower()
        assert not any(word in text for word in ("late", "missed", "overdue", "urgent", "warning", "!"))


def email_nudges(count: int) -> list:
    users = []
    for i in range(count):
        user = UserFactory(timezone="Europe/Berlin", email=f"n{i}@example.test")
        make_schedule(user, times=["14:47"], channels=["inbox", "email"], now=SLOT - timedelta(hours=1))
        users.append(user)
    reminders_job(now=SLOT)
    return users


def test_a_user_erased_mid_batch_changes_no_other_users_delivery_records(monkeypatch):
    users = email_nudges(4)
    victim = users[1]
    sent_to: list[str] = []

    def send(message):
        sent_to.append(message.email)
        if message.email == users[0].email:
            User.objects.filter(pk=victim.pk).delete()  # erased while the batch is in flight

    monkeypatch.setattr(TRANSPORTS["email"], "send", send)
    dispatch_job(now=SLOT)
    assert victim.email not in sent_to  # nothing sent after the erasure
    assert sorted(sent_to) == sorted(u.email for u in users if u != victim)
    statuses = set(Dispatch.objects.values_list("status", flat=True))
    assert statuses == {"sent"} and Dispatch.objects.count() == 3
    assert DeliveryAttempt.objects.filter(status="ok").count() == 3


def test_each_outcome_is_recorded_as_it_happens_and_a_crash_leaves_the_rest_pending(monkeypatch):
    email_nudges(3)
    calls = []

    def send(message):
        calls.append(message.email)
        if len(calls) == 2:
            raise SystemExit("the worker dies during the second call")

    monkeypatch.setattr(TRANSPORTS["email"], "send", send)
    with pytest.raises(SystemExit):
        dispatch_job(now=SLOT)
    assert sorted(Dispatch.objects.values_list("status", flat=True)) == ["pending", "sending", "sent"]
    # After the lease the attempt that may have left is `unknown` (not resent); redelivery sends only
    # the one never attempted.
    monkeypatch.setattr(TRANSPORTS["email"], "send", lambda message: calls.append(message.email))
    dispatch_job(now=SLOT + timedelta(hours=1))
    assert sorted(Dispatch.objects.values_list("status", flat=True)) == ["sent", "sent", "unknown"]
    assert len(calls) == 3 and len(set(calls)) == 3
    unknown = Dispatch.objects.get(status="unknown")
    assert unknown.attempts == 1 and "unknown" in unknown.last_error


def test_erasure_retries_a_transient_database_failure(monkeypatch):
    user = UserFactory(email="erase@example.test")
    real = erasure._erase
    failures = iter([OperationalError("deadlock detected"), None])

    def flaky(*, user_id):
        exc = next(failures)
        if exc:
            raise exc
        real(user_id=user_id)

    monkeypatch.setattr(erasure, "_erase", flaky)
    monkeypatch.setattr(erasure.time, "sleep", lambda s: None)
    erasure.user_erase(user=user, password=DEFAULT_PASSWORD)
    assert not User.objects.filter(pk=user.pk).exists()


def test_in_quiet_hours_at_send_time_is_pure(settings):
    from notifications.slots import in_quiet_hours

    at = datetime(2026, 1, 12, 13, 57, tzinfo=UTC)  # 14:57 Berlin
    assert in_quiet_hours(at, tz_name="Europe/Berlin", quiet_start=time(14, 57), quiet_end=time(16, 0))
