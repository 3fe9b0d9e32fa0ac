"""The transport registry drives the ledger and dispatch: a transport registered in TRANSPORTS is
queued and sent without any change to notifications.services.ledger or .dispatch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifications.jobs import dispatch_job, reminders_job
from notifications.models import DeliveryAttempt, Dispatch, InboxItem
from notifications.services.devices import device_register
from notifications.transports import TRANSPORTS, Channel, Message, Transport, TransportError, channel_choices
from tests.factories import UserFactory
from tests.notifications.factories import make_schedule

pytestmark = pytest.mark.django_db

SLOT = datetime(2026, 1, 12, 8, 0, tzinfo=UTC)  # 09:00 in Berlin


class PigeonTransport:
    channel = "pigeon"
    label = "Carrier pigeon"
    via_outbox = True
    per_device = False

    def __init__(self):
        self.sent: list[Message] = []
        self.failures: list[TransportError] = []
        self.is_configured = True

    def configured(self) -> bool:
        return self.is_configured

    def send(self, message: Message) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)


class BeaconTransport(PigeonTransport):
    """Per device, like push: one dispatch per enabled device, sent with its token."""

    channel = "beacon"
    label = "Beacon"
    per_device = True


@pytest.fixture
def register(monkeypatch):
    def add(transport):
        monkeypatch.setitem(TRANSPORTS, transport.channel, transport)  # undone after the test
        return transport

    return add


def nudge(user, channels: list[str]):
    make_schedule(user, times=["09:00"], channels=channels, now=SLOT - timedelta(hours=1))
    reminders_job(now=SLOT)


def test_the_builtin_transports_follow_the_protocol_and_name_the_one_channel_enum():
    assert list(TRANSPORTS) == Channel.values == ["inbox", "push", "email"]
    assert channel_choices() == Channel.choices
    assert all(isinstance(t, Transport) and t.channel == name for name, t in TRANSPORTS.items())
    assert [t.channel for t in TRANSPORTS.values() if not t.via_outbox] == [Channel.INBOX]


def test_a_registered_transport_is_queued_and_sent_through_the_outbox(register):
    pigeon = register(PigeonTransport())
    user = UserFactory(timezone="Europe/Berlin")
    nudge(user, ["inbox", "pigeon"])

    dispatch = Dispatch.objects.get()
    assert (dispatch.channel, dispatch.status, dispatch.device_id) == ("pigeon", "pending", None)
    assert dispatch_job(now=SLOT) == 1

    item = InboxItem.objects.get(user=user)
    [message] = pigeon.sent
    assert (message.title, message.body, message.email) == (item.title, item.body, user.email)
    assert message.data == {
        "kind": "nudge",
        "delivery_id": str(item.delivery_id),
        "inbox_id": str(item.id),
        "deep_link": item.deep_link,
    }
    dispatch.refresh_from_db()
    assert (dispatch.status, dispatch.attempts) == ("sent", 1)
    assert list(DeliveryAttempt.objects.values_list("channel", "status")) == [("pigeon", "ok")]


def test_a_registered_transport_gets_the_retry_rules_from_its_transport_errors(register, settings):
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 30
    pigeon = register(PigeonTransport())
    pigeon.failures = [TransportError("storm", permanent=False)]
    nudge(UserFactory(timezone="Europe/Berlin"), ["pigeon"])

    dispatch_job(now=SLOT)
    dispatch = Dispatch.objects.get()
    assert (dispatch.status, dispatch.last_error, dispatch.next_attempt_at) == (
        "pending",
        "storm",
        SLOT + timedelta(seconds=30),
    )
    dispatch_job(now=SLOT + timedelta(seconds=30))
    dispatch.refresh_from_db()
    assert (dispatch.status, dispatch.attempts, len(pigeon.sent)) == ("sent", 2, 1)

    pigeon.failures = [TransportError("no such loft", permanent=True)]
    nudge(UserFactory(timezone="Europe/Berlin"), ["pigeon"])
    dispatch_job(now=SLOT + timedelta(minutes=5))
    assert Dispatch.objects.filter(status="failed", last_error="no such loft").count() == 1


def test_an_unconfigured_transport_is_recorded_as_disabled_not_faked(register):
    pigeon = register(PigeonTransport())
    pigeon.is_configured = False
    nudge(UserFactory(timezone="Europe/Berlin"), ["inbox", "pigeon"])
    dispatch = Dispatch.objects.get()
    assert (dispatch.status, dispatch.last_error) == ("disabled", "pigeon not configured")
    assert dispatch_job(now=SLOT) == 0 and pigeon.sent == []


def test_a_per_device_transport_gets_one_dispatch_per_enabled_device_with_its_token(register):
    beacon = register(BeaconTransport())
    user = UserFactory(timezone="Europe/Berlin")
    device_register(user=user, platform="android", token="tok-a")
    device_register(user=user, platform="ios", token="tok-b")
    nudge(user, ["beacon"])
    assert Dispatch.objects.filter(channel="beacon", device__isnull=False).count() == 2
    assert dispatch_job(now=SLOT) == 2
    assert sorted(m.device_token for m in beacon.sent) == ["tok-a", "tok-b"]
