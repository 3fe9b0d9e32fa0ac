"""Re-reminders (issue 16 part 3): one more nudge for a prompt still unanswered after
PROMPT_REREMIND_AFTER_SECONDS, at most one per prompt, never in quiet hours, exactly once under
repeated ticks. The real tick under a travelled clock."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from notifications.models import Delivery, InboxItem
from notifications.scheduler import run_tick
from tests.factories import UserFactory
from tests.notifications.factories import make_checkin, make_schedule

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.REMINDER_BACKOFF_AFTER = 10_000
    settings.PROMPT_EXPIRY_SECONDS = 2 * 60 * 60
    settings.PROMPT_REREMIND_AFTER_SECONDS = 60 * 60


def tick_through(start: datetime, end: datetime, *, twice: bool = False) -> None:
    moment = start
    with time_machine.travel(moment, tick=False) as traveller:
        while moment <= end:
            traveller.move_to(moment)
            run_tick(now=timezone.now())
            if twice:  # a second beat / a redelivered task at the same moment
                run_tick(now=timezone.now())
            moment += timedelta(minutes=10)


def again(user) -> list[Delivery]:
    return list(Delivery.objects.filter(user=user, kind="nudge_again").order_by("slot"))


def test_one_re_reminder_per_unanswered_prompt_none_when_answered_skipped_in_quiet_hours():
    ignores, answers, late_evening = (UserFactory(timezone="Europe/Berlin") for _ in range(3))
    start = datetime(2026, 3, 28, 8, 0, tzinfo=BERLIN)
    with time_machine.travel(start, tick=False):
        make_schedule(ignores, times=["09:00"])
        make_schedule(answers, times=["09:00"])
        make_schedule(late_evening, times=["21:30"], quiet=("22:00", "07:00"))
    make_checkin(answers, occurred_at=datetime(2026, 3, 28, 9, 40, tzinfo=BERLIN))
    make_checkin(answers, occurred_at=datetime(2026, 3, 29, 9, 20, tzinfo=BERLIN))

    # Two days across the spring-forward night, every moment ticked twice.
    tick_through(start, datetime(2026, 3, 29, 23, 55, tzinfo=BERLIN), twice=True)

    rereminded = again(ignores)
    assert [(d.slot.astimezone(BERLIN).strftime("%d %H:%M"), d.status) for d in rereminded] == [
        ("28 09:00", "sent"),
        ("29 09:00", "sent"),
    ]
    # Sent an hour after the nudge, once: one inbox item per re-reminder.
    inbox = InboxItem.objects.filter(user=ignores).order_by("created_at")
    assert [(i.kind, i.created_at.astimezone(BERLIN).strftime("%d %H:%M")) for i in inbox] == [
        ("nudge", "28 09:00"),
        ("nudge_again", "28 10:00"),
        ("nudge", "29 09:00"),
        ("nudge_again", "29 10:00"),
    ]
    assert again(answers) == []
    # 22:30 is inside 22:00-07:00: recorded as skipped (quiet), never sent later, no inbox item.
    quiet = again(late_evening)
    assert [(d.status, d.skip_reason) for d in quiet] == [("skipped", "quiet"), ("skipped", "quiet")]
    assert not InboxItem.objects.filter(user=late_evening, kind="nudge_again").exists()


def test_re_reminders_are_off_by_default_and_never_after_the_prompt_expired(settings):
    user = UserFactory(timezone="America/Los_Angeles")
    la = ZoneInfo("America/Los_Angeles")
    start = datetime(2026, 6, 1, 8, 0, tzinfo=la)
    with time_machine.travel(start, tick=False):
        make_schedule(user, times=["09:00"])
    settings.PROMPT_REREMIND_AFTER_SECONDS = 0
    tick_through(start, datetime(2026, 6, 1, 12, 0, tzinfo=la))
    assert again(user) == []
    # An interval at or past the expiry would remind about a prompt already missed: off too.
    settings.PROMPT_REREMIND_AFTER_SECONDS = settings.PROMPT_EXPIRY_SECONDS
    tick_through(datetime(2026, 6, 2, 8, 0, tzinfo=la), datetime(2026, 6, 2, 12, 0, tzinfo=la))
    assert again(user) == []
    assert Delivery.objects.filter(user=user, kind="nudge", status="sent").count() == 2
