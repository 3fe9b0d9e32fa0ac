"""Weekly summary announcements: one per summary, a gentle line in-app, nothing health-related in push.

Every summary here is written by the real producer (`tracker.insights.services.write_summaries`) from
check-ins and regulation logs created through the entry services, never from a hand-made payload."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from notifications.content import (
    CALMING_HELPED_LINE,
    NEUTRAL_SUMMARY_LINE,
    REACHED_OUT_LINE,
    WEEK_OVER_WEEK_LINES,
    summary_line,
    summary_lines,
)
from notifications.jobs import dispatch_job, weekly_summaries_job
from notifications.models import Delivery, Dispatch, InboxItem
from notifications.scheduler import run_tick
from notifications.services.devices import device_register
from tests.entries.entry_factories import make_checkin
from tests.factories import UserFactory
from tests.helpers import load_licensed_wording
from tests.notifications.factories import (
    checkin_with,
    dimension_answers,
    log_regulation,
    make_schedule,
    produce_summary,
    wmc_answers,
)
from tracker.common.weeks import WEEK, local_week_start
from tracker.models import WeeklySummary

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)


def past_week(weeks_ago: int = 1) -> date:
    """A finished local (UTC) week, so every entry in it lies in the past."""
    return local_week_start(timezone.now(), "UTC") - WEEK * weeks_ago


def at(week_start: date, day: int, hour: int = 12) -> datetime:
    return datetime.combine(week_start, datetime.min.time(), tzinfo=UTC) + timedelta(days=day, hours=hour)


def checkins(user, week_start: date, anxiety: int, avoidance: int, n: int = 2) -> None:
    for day in range(n):
        make_checkin(user, occurred_at=at(week_start, day), answers=wmc_answers(anxiety, avoidance))


def improving_week(user) -> WeeklySummary:
    week = past_week()
    checkins(user, week - WEEK, 6, 6)
    checkins(user, week, 4, 3)
    return produce_summary(user, week_start=week)


def test_each_unannounced_summary_gets_one_notification_with_a_deep_link(django_assert_max_num_queries, settings):
    settings.SUMMARY_NOTIFY_BATCH_SIZE = 2
    users = UserFactory.create_batch(3)
    week = past_week()
    for user in users:
        improving_week(user)
    checkins(users[0], week - WEEK * 3, 5, 5, n=1)
    produce_summary(users[0], week_start=week - WEEK * 3)  # no week before it with check-ins
    checkins(users[1], week - WEEK * 4, 5, 5, n=1)
    already = produce_summary(users[1], week_start=week - WEEK * 4)
    WeeklySummary.objects.filter(id=already.id).update(notified_at=NOW - timedelta(days=7))

    # Per chunk of 2: savepoint, claim, channels, ledger, inbox, devices, stamp, release; then an empty claim.
    with django_assert_max_num_queries(2 * 8 + 3):
        assert weekly_summaries_job(now=NOW) == 4
    assert weekly_summaries_job(now=NOW + timedelta(minutes=1)) == 0
    assert not WeeklySummary.objects.filter(notified_at__isnull=True).exists()

    items = InboxItem.objects.filter(kind="weekly_summary")
    assert items.count() == 4
    label = f"{week.isocalendar().year}-W{week.isocalendar().week:02d}"
    item = items.get(user=users[2])
    assert item.deep_link == f"securebase://summaries/{label}"
    assert item.body == "This week your check-ins leaned a little more toward secure."
    older = week - WEEK * 3
    older_label = f"{older.isocalendar().year}-W{older.isocalendar().week:02d}"
    assert items.get(user=users[0], deep_link__endswith=older_label).body == WEEK_OVER_WEEK_LINES["no_comparison"]
    delivery = Delivery.objects.get(user=users[2], kind="weekly_summary")
    assert delivery.slot == datetime.combine(week, datetime.min.time(), tzinfo=UTC)
    assert delivery.body == "Your weekly summary is ready."  # what push/email may say: no direction


def test_a_summary_already_announced_is_not_announced_again_even_if_notified_at_was_lost():
    user = UserFactory()
    week = past_week()
    checkins(user, week - WEEK, 5, 5)
    checkins(user, week, 5, 5)
    summary = produce_summary(user, week_start=week)
    weekly_summaries_job(now=NOW)
    WeeklySummary.objects.filter(id=summary.id).update(notified_at=None)  # e.g. the trends job rewrote it
    assert weekly_summaries_job(now=NOW + timedelta(hours=1)) == 1
    assert InboxItem.objects.filter(user=user).count() == 1
    assert WeeklySummary.objects.get(id=summary.id).notified_at is not None


def test_summary_push_carries_no_health_data(fcm_settings):
    user = UserFactory()
    device_register(user=user, platform="ios", token="ok-summary")
    make_schedule(user, times=["09:00"], channels=["inbox", "push"])
    week = past_week()
    checkins(user, week - WEEK, 3, 3)
    checkins(user, week, 6, 5)
    for day in range(4):
        log_regulation(user, occurred_at=at(week, day), intensity_before=8, intensity_after=3, reached_out=True)
    summary = produce_summary(user, week_start=week)
    assert summary.payload["week_over_week"] == "further_from_secure"
    now = timezone.now()
    run_tick(now=now)
    label = f"{week.isocalendar().year}-W{week.isocalendar().week:02d}"
    [message] = [m["message"] for m in fcm_settings.messages]
    assert message["notification"] == {"title": "Your week in review", "body": "Your weekly summary is ready."}
    assert message["data"]["deep_link"] == f"securebase://summaries/{label}"
    assert "further" not in str(message) and "episodes" not in str(message) and "calmed" not in str(message)
    assert InboxItem.objects.get(user=user, kind="weekly_summary").body.startswith("This week seems to have asked")
    assert Dispatch.objects.get().status == "sent"
    assert dispatch_job(now=now) == 0


# (name, previous week's check-ins, this week's check-ins, this week's regulation logs, expected lines)
# Check-ins are (anxiety, avoidance) answered on the working-model check-in; logs are API fields.
HELPED = {"intensity_before": 8, "intensity_after": 3, "reached_out": False}
REACHED_OUT_NO_DROP = {"intensity_before": 6, "intensity_after": 6, "reached_out": True}
SUMMARY_CASES = [
    ("closer", (6, 6), (4, 3), [], [WEEK_OVER_WEEK_LINES["closer_to_secure"]]),
    ("steady", (5, 5), (5, 5), [], [WEEK_OVER_WEEK_LINES["steady"]]),
    ("further", (3, 3), (6, 5), [], [WEEK_OVER_WEEK_LINES["further_from_secure"]]),
    ("first week", None, (5, 2), [], [WEEK_OVER_WEEK_LINES["no_comparison"]]),
    (
        "logs only, calming helped",
        None,
        None,
        [HELPED, HELPED],
        [WEEK_OVER_WEEK_LINES["no_comparison"], CALMING_HELPED_LINE],
    ),
    (
        "steady, reached out",
        (4, 4),
        (4, 4),
        [REACHED_OUT_NO_DROP],
        [WEEK_OVER_WEEK_LINES["steady"], REACHED_OUT_LINE],
    ),
    (
        "closer, helped and reached out",
        (6, 6),
        (3, 3),
        [{**HELPED, "reached_out": True}],
        [WEEK_OVER_WEEK_LINES["closer_to_secure"], CALMING_HELPED_LINE, REACHED_OUT_LINE],
    ),
]


@pytest.mark.parametrize(
    ("name", "previous", "this", "logs", "expected"), SUMMARY_CASES, ids=[c[0] for c in SUMMARY_CASES]
)
def test_summary_lines_follow_the_produced_payload(name, previous, this, logs, expected):
    user = UserFactory(timezone="UTC")
    week = past_week()
    if previous:
        checkins(user, week - WEEK, *previous)
    if this:
        checkins(user, week, *this)
    for day, fields in enumerate(logs):
        log_regulation(user, occurred_at=at(week, day, hour=20), **fields)
    summary = produce_summary(user, week_start=week)

    assert summary_lines(summary.payload) == expected
    weekly_summaries_job(now=timezone.now())
    body = InboxItem.objects.get(user=user, kind="weekly_summary").body
    assert body == " ".join(expected[:2])
    assert not any(ch.isdigit() for ch in body)  # never numbers or scores


def test_every_line_of_the_summary_text_appears_in_some_produced_summary():
    """The union of the realistic cases above shows every line the text can contain."""
    seen = {line for *_, expected in SUMMARY_CASES for line in expected[:2]}
    assert seen == {*WEEK_OVER_WEEK_LINES.values(), CALMING_HELPED_LINE, REACHED_OUT_LINE}


def test_a_summary_stored_before_week_over_week_existed_gets_the_neutral_line():
    user = UserFactory(timezone="UTC")
    week = past_week()
    checkins(user, week, 5, 5)
    payload = produce_summary(user, week_start=week).payload
    # A schema-1 row: the same payload without the keys schema 2 added.
    old = {k: v for k, v in payload.items() if k not in ("week_over_week", "distance_change")} | {"schema": 1}
    assert summary_line(old) == NEUTRAL_SUMMARY_LINE


@pytest.mark.parametrize("stored", [None, [], "text", 7, {"week_over_week": 7, "regulation": "lots"}])
def test_summary_line_survives_stored_json_that_is_not_a_payload(stored):
    assert summary_line(stored) == NEUTRAL_SUMMARY_LINE


def test_the_week_over_week_line_compares_the_same_instrument_only(tmp_path):
    """wmc improved (6, 6 -> 4, 3); one much harder ECR-S check-in that week is not averaged into it."""
    load_licensed_wording(tmp_path, codes=("ecr-s",))
    user = UserFactory(timezone="UTC")
    week = past_week()
    checkins(user, week - WEEK, 6, 6)
    checkins(user, week, 4, 3)
    checkin_with(user, "ecr-s", occurred_at=at(week, 3), responses=dimension_answers("ecr-s", 7, 7))
    payload = produce_summary(user, week_start=week).payload
    assert (payload["instrument"], payload["checkins"], payload["anxiety"], payload["avoidance"]) == (
        "wmc",
        3,
        4.0,
        3.0,
    )
    assert payload["week_over_week"] == "closer_to_secure"  # mixed in, the ECR-S check-in would say further
    assert summary_lines(payload)[0] == WEEK_OVER_WEEK_LINES["closer_to_secure"]
