"""The FCM HTTP v1 transport against a local fake FCM server over real HTTP."""

from datetime import UTC, datetime, timedelta

import pytest

from notifications.jobs import dispatch_job, reminders_job
from notifications.models import DeliveryAttempt, Device, Dispatch, InboxItem
from notifications.services.devices import device_register
from tests.factories import UserFactory
from tests.notifications.factories import make_schedule

pytestmark = pytest.mark.django_db

SLOT = datetime(2026, 1, 12, 8, 0, tzinfo=UTC)  # 09:00 in Berlin


def nudge_user(token: str):
    user = UserFactory(timezone="Europe/Berlin")
    device, _ = device_register(user=user, platform="android", token=token, app_version="1.2.0")
    make_schedule(user, times=["09:00"], channels=["inbox", "push"], now=SLOT - timedelta(hours=1))
    reminders_job(now=SLOT)
    return user, device


def test_success_sends_notification_and_data_payload_with_an_oauth_token_and_no_health_data(fcm_settings):
    user, _device = nudge_user("ok-device-1")
    assert dispatch_job(now=SLOT) == 1

    [token_request] = fcm_settings.token_requests
    assert token_request["form"]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = token_request["claims"]  # the RS256 signature was verified by the fake
    assert claims["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
    assert claims["aud"] == f"{fcm_settings.url}/token" and claims["exp"] - claims["iat"] == 3600

    [body] = fcm_settings.messages
    message = body["message"]
    assert message["token"] == "ok-device-1"
    item = InboxItem.objects.get(user=user)
    assert message["notification"] == {"title": item.title, "body": item.body}
    assert message["data"] == {
        "kind": "nudge",
        "delivery_id": str(item.delivery_id),
        "inbox_id": str(item.id),
        "deep_link": "securebase://checkins/new",
    }
    assert all(isinstance(v, str) for v in message["data"].values())
    dispatch = Dispatch.objects.get()
    assert (dispatch.status, dispatch.attempts) == ("sent", 1)
    [attempt] = DeliveryAttempt.objects.all()
    assert (attempt.status, attempt.channel, attempt.error) == ("ok", "push", "")
    # The access token is cached: a second send needs no second token request.
    nudge_user("ok-device-2")
    dispatch_job(now=SLOT)
    assert len(fcm_settings.token_requests) == 1 and len(fcm_settings.messages) == 2


@pytest.mark.parametrize("token", ["dead-device", "badtoken-device"])
def test_an_invalid_token_disables_the_device_and_is_not_retried(fcm_settings, token):
    user, device = nudge_user(token)
    dispatch_job(now=SLOT)
    device.refresh_from_db()
    assert (device.enabled, device.disabled_reason) == (False, "invalid_token")
    dispatch = Dispatch.objects.get()
    assert dispatch.status == "failed"
    [attempt] = DeliveryAttempt.objects.all()
    assert attempt.status == "permanent_error" and attempt.http_status in (400, 404)
    dispatch_job(now=SLOT + timedelta(hours=1))
    assert len(fcm_settings.messages) == 1
    # The next nudge does not even queue a push for the dead device; the inbox still gets it.
    reminders_job(now=SLOT + timedelta(days=1))
    assert Dispatch.objects.count() == 1
    assert InboxItem.objects.filter(user=user).count() == 2


def test_a_5xx_is_retried_with_backoff_until_it_succeeds(fcm_settings, settings):
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 30
    fcm_settings.flaky_failures = 2
    nudge_user("flaky-device")
    dispatch_job(now=SLOT)
    dispatch = Dispatch.objects.get()
    assert (dispatch.status, dispatch.attempts) == ("pending", 1)
    assert dispatch.next_attempt_at == SLOT + timedelta(seconds=30)

    assert dispatch_job(now=SLOT + timedelta(seconds=10)) == 0  # backing off
    dispatch_job(now=SLOT + timedelta(seconds=30))
    dispatch.refresh_from_db()
    assert (dispatch.status, dispatch.attempts) == ("pending", 2)
    assert dispatch.next_attempt_at == SLOT + timedelta(seconds=30 + 60)  # doubled

    dispatch_job(now=SLOT + timedelta(seconds=90))
    dispatch.refresh_from_db()
    assert (dispatch.status, dispatch.attempts) == ("sent", 3)
    statuses = list(DeliveryAttempt.objects.order_by("attempted_at", "id").values_list("status", "http_status"))
    assert statuses == [("temporary_error", 503), ("temporary_error", 503), ("ok", None)]
    assert len(fcm_settings.messages) == 3


def test_temporary_errors_give_up_after_the_maximum_attempts(fcm_settings, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 1
    fcm_settings.flaky_failures = 10
    nudge_user("flaky-forever")
    for seconds in range(0, 20, 2):
        dispatch_job(now=SLOT + timedelta(seconds=seconds))
    assert Dispatch.objects.get().status == "failed"
    assert len(fcm_settings.messages) == 2


def test_a_4xx_is_permanent_and_not_retried(fcm_settings):
    _user, device = nudge_user("denied-device")
    dispatch_job(now=SLOT)
    for minutes in (1, 10, 60):
        dispatch_job(now=SLOT + timedelta(minutes=minutes))
    dispatch = Dispatch.objects.get()
    assert (dispatch.status, dispatch.attempts) == ("failed", 1)
    assert DeliveryAttempt.objects.get().status == "permanent_error"
    assert len(fcm_settings.messages) == 1
    device.refresh_from_db()
    assert device.enabled  # a sender problem is not the device's fault


def test_a_timeout_is_temporary_and_retried(fcm_settings, settings):
    settings.FCM_TIMEOUT_SECONDS = 0.3
    fcm_settings.slow_seconds = 1.5
    nudge_user("slow-device")
    dispatch_job(now=SLOT)
    dispatch = Dispatch.objects.get()
    assert (dispatch.status, dispatch.last_error) == ("pending", "timeout")
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status == "temporary_error" and 250 <= attempt.duration_ms < 1500
    # The device recovers (a new token that answers in time): the retry goes through.
    Device.objects.filter(id=dispatch.device_id).update(token="ok-recovered")
    dispatch_job(now=SLOT + timedelta(minutes=5))
    dispatch.refresh_from_db()
    assert (dispatch.status, dispatch.attempts) == ("sent", 2)
