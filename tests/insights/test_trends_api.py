"""GET /api/v1/trends/: local weeks per timezone (DST included), two queries whatever N, errors."""

import math
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.helpers import assert_error
from tests.insights.trend_data import checkin, instrument, reglog
from tracker.insights.selectors import trend_for_user

pytestmark = pytest.mark.django_db


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def week_of(body, week_start: str) -> dict:
    return next(w for w in body["weeks"] if w["week_start"] == week_start)


@pytest.mark.parametrize(
    ("tz", "before_midnight", "after_midnight", "old_week", "new_week", "now"),
    [
        # Auckland leaves DST on Sun 2026-04-05 (+13 -> +12): Monday 6 April starts at 12:00 UTC on
        # the 5th. At +13 the 11:30 UTC check-in would wrongly be Monday 00:30.
        (
            "Pacific/Auckland",
            utc(2026, 4, 5, 11, 30),
            utc(2026, 4, 5, 12, 30),
            "2026-03-30",
            "2026-04-06",
            utc(2026, 4, 8, 3),
        ),
        # Los Angeles leaves DST on Sun 2026-11-01 (-7 -> -8): Monday 2 November starts at 08:00 UTC.
        (
            "America/Los_Angeles",
            utc(2026, 11, 2, 7, 30),
            utc(2026, 11, 2, 8, 30),
            "2026-10-26",
            "2026-11-02",
            utc(2026, 11, 4, 20),
        ),
        # Los Angeles enters DST on Sun 2026-03-08 (-8 -> -7): Monday 9 March starts at 07:00 UTC.
        (
            "America/Los_Angeles",
            utc(2026, 3, 9, 6, 50),
            utc(2026, 3, 9, 7, 10),
            "2026-03-02",
            "2026-03-09",
            utc(2026, 3, 10, 20),
        ),
        # Kolkata (+05:30, no DST): Monday 2 March starts at 18:30 UTC on Sunday.
        (
            "Asia/Kolkata",
            utc(2026, 3, 1, 18, 20),
            utc(2026, 3, 1, 18, 40),
            "2026-02-23",
            "2026-03-02",
            utc(2026, 3, 3, 12),
        ),
    ],
)
def test_weeks_are_cut_at_the_users_own_local_midnight(tz, before_midnight, after_midnight, old_week, new_week, now):
    user = UserFactory(timezone=tz)
    checkin(user, before_midnight, 5.0, 5.0)
    checkin(user, after_midnight, 3.0, 2.0)
    checkin(user, after_midnight + timedelta(hours=1), 2.0, 2.0)
    api = APIClient()
    api.force_authenticate(user)
    with time_machine.travel(now, tick=False):
        body = api.get("/api/v1/trends/", {"weeks": 4}).json()
    assert body["weeks"][-1]["week_start"] == new_week  # the current local week comes last
    assert week_of(body, old_week)["checkins"] == 1
    assert week_of(body, old_week)["anxiety"] == 5.0
    assert week_of(body, new_week)["checkins"] == 2
    assert week_of(body, new_week)["anxiety"] == 2.5
    assert body["metadata"]["timezone"] == tz


def test_the_body_has_every_section_with_methods_and_thresholds():
    user = UserFactory(timezone="Europe/Berlin")
    start = utc(2026, 1, 5, 12)
    values = [(6, 5.5), (5.8, 5.5), (5.5, 5.0), (5, 4.8), (4.6, 4.5), (4.2, 4.2), (4.0, 4.0), (3.6, 3.9)]
    for i, (anx, avo) in enumerate(values):
        checkin(user, start + timedelta(weeks=i), anx, avo)
    for i in range(4):
        reglog(
            user,
            start + timedelta(weeks=6, days=i),
            before=8,
            after=5,
            strategies=["breathing"],
            reached_out=i % 2 == 0,
            recovery=10 * (i + 1),
        )
    body = trend_for_user(user=user, weeks=12, now=utc(2026, 3, 1, 12))
    assert set(body) == {
        "instrument",
        "other_instruments",
        "weeks",
        "trajectory",
        "statistics",
        "direction",
        "quadrant",
        "regulation",
        "adherence",
        "metadata",
    }
    assert len(body["weeks"]) == 12
    assert [w["week_start"] for w in body["weeks"]] == sorted(w["week_start"] for w in body["weeks"])
    assert len(body["trajectory"]) == 8
    slope = body["statistics"]["slope"]
    assert slope["method"] == "theil_sen" and slope["n"] == 8 and slope["per_week"]["anxiety"] < 0
    kendall = body["statistics"]["mann_kendall"]
    assert kendall["method"] == "mann_kendall" and kendall["results"]["anxiety"]["trend"] == "decreasing"
    rci = body["statistics"]["reliable_change"]["anxiety"]
    # The shipped `wmc` metadata: SD 1.2, r 0.75 (provisional). Baseline (6 + 5.8)/2, now (4.0 + 3.6)/2:
    # RC = -2.1 / (1.2·√2·√0.25) = -2.4749.
    assert rci["sd"] == 1.2 and rci["r"] == 0.75 and rci["provisional"] is True and rci["change"] == "improved"
    assert rci["rc"] == pytest.approx(-2.1 / (1.2 * math.sqrt(2) * 0.5), abs=1e-4)
    assert body["statistics"]["reliable_change"]["joint"]["reliable"] is True
    assert body["instrument"]["key"] == "wmc:1" and body["other_instruments"] == []
    assert body["direction"]["value"] == "improving"
    # (4.0, 4.0) sits on the cut and is secure; the week after is secure too: two weeks switch the label.
    quadrant = body["quadrant"]
    assert (quadrant["current"], quadrant["latest_week"], quadrant["pending"]) == ("secure", "secure", None)
    assert quadrant["since"] == "2026-02-16"
    assert quadrant["cut"] == 4.0
    regulation = body["regulation"]
    assert regulation["episodes"] == 4 and regulation["mean_drop"] == 3.0
    assert regulation["co_regulation_share"] == 0.5 and regulation["median_recovery_minutes"] == 25
    assert regulation["strategies"][0]["strategy"] == "breathing"
    assert body["adherence"] == {"value": None, "done": 8, "asked": 0, "reason": "no check-ins were asked for"}
    assert body["metadata"]["ewma_lambda"] == 0.3 and body["metadata"]["quadrant_cut"] == 4.0
    # EWMA of the first two weeks by hand: 6, then 0.3 * 5.8 + 0.7 * 6 = 5.94
    assert body["weeks"][0]["week_start"] < "2026-01-05"
    assert week_of(body, "2026-01-12")["ewma"]["anxiety"] == pytest.approx(5.94)


def test_tombstoned_entries_and_other_users_are_excluded():
    user, other = UserFactory(timezone="UTC"), UserFactory(timezone="UTC")
    at = utc(2026, 2, 3, 12)
    checkin(user, at, 5, 5)
    checkin(user, at, 1, 1, deleted_at=at)
    checkin(other, at, 7, 7)
    reglog(user, at, before=9, after=1, deleted_at=at)
    body = trend_for_user(user=user, weeks=2, now=utc(2026, 2, 5))
    assert week_of(body, "2026-02-02")["checkins"] == 1
    assert week_of(body, "2026-02-02")["anxiety"] == 5.0
    assert body["regulation"]["episodes"] == 0


def test_insufficient_data_for_a_new_user():
    user = UserFactory()
    body = trend_for_user(user=user, weeks=12)
    assert body["direction"]["value"] == "insufficient_data"
    assert body["trajectory"] == []
    assert body["quadrant"]["current"] is None


@pytest.mark.parametrize("weeks", [4, 104])
def test_trends_endpoint_takes_at_most_two_queries_whatever_n(weeks, django_assert_max_num_queries):
    user = UserFactory(timezone="Asia/Kolkata")
    start = utc(2024, 6, 3, 9)
    other = instrument("ecr-s", 1)
    for i in range(0, 110, 3):
        checkin(user, start + timedelta(weeks=i), 4 + (i % 5) / 5, 3.5, instr=other if i % 2 else None)
        reglog(user, start + timedelta(weeks=i), before=7, after=4, strategies=["worry"])
    api = APIClient()
    api.force_authenticate(user)
    with time_machine.travel(utc(2026, 7, 1), tick=False), django_assert_max_num_queries(2):
        response = api.get("/api/v1/trends/", {"weeks": weeks})
    assert response.status_code == 200
    assert len(response.json()["weeks"]) == weeks


@pytest.mark.parametrize("weeks", ["0", "105", "-3", "abc", "1.5"])
def test_bad_weeks_is_a_400(client_api, weeks):
    assert_error(client_api.get("/api/v1/trends/", {"weeks": weeks}), 400, "validation_error", fields=["weeks"])


def test_trends_needs_a_token(anon_api):
    assert_error(anon_api.get("/api/v1/trends/"), 401)


def test_default_is_twelve_weeks(client_api):
    assert len(client_api.get("/api/v1/trends/").json()["weeks"]) == 12


def test_adherence_is_checkins_done_over_the_nudge_slots_of_the_window(django_assert_max_num_queries):
    from notifications.models import Delivery

    user = UserFactory(timezone="UTC")
    now = utc(2026, 3, 4, 12)  # a Wednesday; the 2-week window starts Monday 2026-02-23
    checkin(user, utc(2026, 2, 24, 9), 5, 5)
    checkin(user, utc(2026, 3, 2, 9), 4, 4)
    checkin(user, utc(2026, 2, 10, 9), 6, 6)  # before the window: not "done" in it
    slots = [
        (utc(2026, 2, 23, 9), "sent", ""),
        (utc(2026, 2, 25, 9), "skipped", "done"),  # asked, and already done
        (utc(2026, 2, 27, 9), "skipped", "backoff"),  # asked, not nudged
        (utc(2026, 3, 1, 9), "sent", ""),
        (utc(2026, 3, 2, 9), "skipped", "paused"),  # paused: nothing was asked
        (utc(2026, 2, 20, 9), "sent", ""),  # before the window
    ]
    for slot, status, reason in slots:
        Delivery.objects.create(user=user, kind="nudge", slot=slot, status=status, skip_reason=reason, created_at=slot)
    Delivery.objects.create(user=UserFactory(), kind="nudge", slot=utc(2026, 3, 1, 9), status="sent", created_at=now)
    Delivery.objects.create(user=user, kind="weekly_summary", slot=utc(2026, 2, 23), status="sent", created_at=now)

    with django_assert_max_num_queries(2):
        body = trend_for_user(user=user, weeks=2, now=now)
    assert body["adherence"] == {"value": 0.5, "done": 2, "asked": 4, "reason": None}


def test_adherence_without_any_checkins_says_so():
    user = UserFactory(timezone="UTC")
    body = trend_for_user(user=user, weeks=2, now=utc(2026, 3, 4, 12))
    assert body["adherence"] == {"value": None, "done": 0, "asked": None, "reason": "no check-ins yet"}
