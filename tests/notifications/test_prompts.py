"""Prompts (issue 16 part 3): every sent nudge is a prompt that expires after PROMPT_EXPIRY_SECONDS;
the app reads open / answered / missed, and a check-in after expiry is stored but shows as late.

Nudges come from the real tick under a travelled clock; check-ins are real rows."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.models import Delivery
from notifications.scheduler import run_tick
from tests.conftest import api_for
from tests.factories import UserFactory
from tests.notifications.factories import make_checkin, make_schedule
from tracker.models import CheckIn

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def local(day: int, hh: int, mm: int = 0, zone=BERLIN) -> datetime:
    return datetime(2026, 3, day, hh, mm, tzinfo=zone)


def tick_until(start: datetime, end: datetime) -> None:
    moment = start
    with time_machine.travel(moment, tick=False) as traveller:
        while moment <= end:
            traveller.move_to(moment)
            run_tick(now=timezone.now())
            moment += timedelta(minutes=5)


def prompts(user, at: datetime) -> list[dict]:
    with time_machine.travel(at, tick=False):
        response = api_for(user).get("/api/v1/prompts/")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_prompt_states_answered_late_missed_and_open_across_the_spring_forward_weekend(settings):
    settings.PROMPT_EXPIRY_SECONDS = 2 * 60 * 60
    settings.REMINDER_BACKOFF_AFTER = 10_000
    user = UserFactory(timezone="Europe/Berlin")
    with time_machine.travel(local(27, 8), tick=False):
        make_schedule(user, times=["09:00"])
    tick_until(local(27, 8, 30), local(30, 9, 10))  # 28 CET, 29 CEST (spring forward), 30

    make_checkin(user, occurred_at=local(27, 9, 40))  # answers the 27th's prompt
    make_checkin(user, occurred_at=local(28, 11, 0))  # exactly at expiry: late
    make_checkin(user, occurred_at=local(29, 10, 59))  # 1:59 after 09:00 CEST: answered
    make_checkin(user, occurred_at=local(28, 9, 30), deleted=True)  # deleted: answers nothing

    body = prompts(user, local(30, 9, 30))
    assert [(p["sent_at"], p["state"]) for p in body] == [
        ("2026-03-30T07:00:00Z", "open"),
        ("2026-03-29T07:00:00Z", "answered"),
        ("2026-03-28T08:00:00Z", "missed"),
        ("2026-03-27T08:00:00Z", "answered"),
    ]
    assert body[2]["late_at"] == "2026-03-28T10:00:00Z" and body[2]["answered_at"] is None
    assert body[1]["answered_at"] == "2026-03-29T08:59:00Z" and body[1]["late_at"] is None
    assert body[0]["expires_at"] == "2026-03-30T09:00:00Z"
    # The late check-in is stored like any other.
    assert CheckIn.objects.filter(user=user, deleted_at__isnull=True).count() == 3

    # Time alone turns the open prompt into missed at its expiry, not a minute before.
    assert prompts(user, local(30, 10, 59))[0]["state"] == "open"
    assert prompts(user, local(30, 11, 0))[0]["state"] == "missed"


def test_only_sent_nudges_are_prompts_and_only_your_own(settings):
    settings.REMINDER_BACKOFF_AFTER = 10_000
    user, other = UserFactory(timezone="Asia/Kolkata"), UserFactory(timezone="America/Los_Angeles")
    kolkata = ZoneInfo("Asia/Kolkata")
    with time_machine.travel(datetime(2026, 6, 1, 0, 0, tzinfo=UTC), tick=False):
        make_schedule(user, times=["09:00", "21:00"], skip_if_done=True)
        make_schedule(other, times=["09:00"])
    make_checkin(user, occurred_at=datetime(2026, 6, 1, 12, 0, tzinfo=kolkata))  # 21:00 is skipped as done
    tick_until(datetime(2026, 6, 1, 0, 0, tzinfo=UTC), datetime(2026, 6, 1, 23, 0, tzinfo=UTC))

    assert Delivery.objects.filter(user=user, status="skipped", skip_reason="done").count() == 1
    mine = prompts(user, datetime(2026, 6, 2, 0, 0, tzinfo=UTC))
    assert [p["sent_at"] for p in mine] == ["2026-06-01T03:30:00Z"]
    assert mine[0]["state"] == "missed" and mine[0]["late_at"] == "2026-06-01T06:30:00Z"
    theirs = prompts(other, datetime(2026, 6, 2, 0, 0, tzinfo=UTC))
    assert [p["sent_at"] for p in theirs] == ["2026-06-01T16:00:00Z"] and theirs[0]["id"] != mine[0]["id"]


def test_the_list_is_one_query_whatever_the_page_size(settings):
    settings.REMINDER_BACKOFF_AFTER = 10_000
    user = UserFactory(timezone="UTC")
    with time_machine.travel(datetime(2026, 6, 1, 0, 0, tzinfo=UTC), tick=False):
        make_schedule(user, times=[f"{h:02d}:00" for h in range(0, 24, 2)])
    tick_until(datetime(2026, 6, 1, 0, 0, tzinfo=UTC), datetime(2026, 6, 2, 23, 0, tzinfo=UTC))
    client = api_for(user)
    with time_machine.travel(datetime(2026, 6, 3, tzinfo=UTC), tick=False), CaptureQueriesContext(connection) as q:
        body = client.get("/api/v1/prompts/").json()
    assert (
        len(body["results"]) == Delivery.objects.filter(user=user, status="sent").count() == 23
    )  # not 00:00 on day one
    assert {p["state"] for p in body["results"]} == {"missed"}
    assert len([s for s in q.captured_queries if "notifications_delivery" in s["sql"]]) == 1


def test_prompts_need_a_login(client):
    assert client.get("/api/v1/prompts/").status_code == 401
