"""Weekly summary announcements: one per summary, a gentle line in-app, nothing health-related in push."""

from datetime import UTC, date, datetime, timedelta

import pytest

from notifications.content import NEUTRAL_SUMMARY_LINE, summary_line
from notifications.jobs import dispatch_job, weekly_summaries_job
from notifications.models import Delivery, Dispatch, InboxItem
from notifications.scheduler import run_tick
from notifications.services.devices import device_register
from tests.factories import UserFactory
from tests.notifications.factories import make_schedule, make_summary
from tracker.models import WeeklySummary

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)


def test_each_unannounced_summary_gets_one_notification_with_a_deep_link(django_assert_max_num_queries, settings):
    settings.SUMMARY_NOTIFY_BATCH_SIZE = 2
    users = UserFactory.create_batch(3)
    for user in users:
        make_summary(user, week_start=date(2026, 11, 16), payload={"direction": "improving"})
    make_summary(users[0], week_start=date(2026, 11, 9), payload={})
    already = make_summary(users[1], week_start=date(2026, 11, 2), payload={})
    WeeklySummary.objects.filter(id=already.id).update(notified_at=NOW - timedelta(days=7))

    # Per chunk of 2: savepoint, claim, channels, ledger, inbox, devices, stamp, release; then an empty claim.
    with django_assert_max_num_queries(2 * 8 + 3):
        assert weekly_summaries_job(now=NOW) == 4
    assert weekly_summaries_job(now=NOW + timedelta(minutes=1)) == 0
    assert not WeeklySummary.objects.filter(notified_at__isnull=True).exists()

    items = InboxItem.objects.filter(kind="weekly_summary")
    assert items.count() == 4
    item = items.get(user=users[2])
    assert item.deep_link == "securebase://summaries/2026-W47"
    assert item.body == "This week your check-ins leaned a little more toward secure."
    assert items.get(user=users[0], deep_link__endswith="W46").body == NEUTRAL_SUMMARY_LINE
    delivery = Delivery.objects.get(user=users[2], kind="weekly_summary")
    assert delivery.slot == datetime(2026, 11, 16, tzinfo=UTC)
    assert delivery.body == "Your weekly summary is ready."  # what push/email may say: no direction


def test_a_summary_already_announced_is_not_announced_again_even_if_notified_at_was_lost():
    user = UserFactory()
    summary = make_summary(user, week_start=date(2026, 11, 16), payload={"direction": "stable"})
    weekly_summaries_job(now=NOW)
    WeeklySummary.objects.filter(id=summary.id).update(notified_at=None)  # e.g. the trends job rewrote it
    assert weekly_summaries_job(now=NOW + timedelta(hours=1)) == 1
    assert InboxItem.objects.filter(user=user).count() == 1
    assert WeeklySummary.objects.get(id=summary.id).notified_at is not None


def test_summary_push_carries_no_health_data(fcm_settings):
    user = UserFactory()
    device_register(user=user, platform="ios", token="ok-summary")
    make_schedule(user, times=["09:00"], channels=["inbox", "push"])
    make_summary(user, week_start=date(2026, 11, 16), payload={"direction": "worsening", "regulation": {"episodes": 4}})
    run_tick(now=NOW)
    [message] = [m["message"] for m in fcm_settings.messages]
    assert message["notification"] == {"title": "Your week in review", "body": "Your weekly summary is ready."}
    assert message["data"]["deep_link"] == "securebase://summaries/2026-W47"
    assert "worsening" not in str(message) and "episodes" not in str(message)
    assert Dispatch.objects.get().status == "sent"
    assert dispatch_job(now=NOW) == 0


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"direction": "improving"}, "leaned a little more toward secure"),
        ({"trend": {"direction": "stable"}}, "looked steady"),
        ({"statistics": {"direction": {"label": "worsening"}}}, "Be gentle with yourself"),
        ({"direction": "insufficient_data"}, "A few more check-ins"),
        ({"regulation": {"episodes": 3, "mean_drop": 2.5}}, "calmed yourself seemed to help"),
        ({"regulation": {"episodes": 3, "reached_out_share": 0.5}}, "Reaching out to someone"),
        ({"direction": "sideways"}, NEUTRAL_SUMMARY_LINE),
        ({"direction": 7, "regulation": "lots"}, NEUTRAL_SUMMARY_LINE),
        ({"regulation": {"episodes": True, "mean_drop": "big"}}, NEUTRAL_SUMMARY_LINE),
        ([], NEUTRAL_SUMMARY_LINE),
        (None, NEUTRAL_SUMMARY_LINE),
    ],
)
def test_summary_line_is_defensive_about_the_payload(payload, expected):
    line = summary_line(payload)
    assert expected in line
    assert not any(ch.isdigit() for ch in line)  # never numbers or scores
