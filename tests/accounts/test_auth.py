from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpers import assert_error
from tracker.models import DeviceToken, User

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"


def register_body(**overrides):
    body = {
        "email": "new.person@example.test",
        "password": "a-long-unusual-passphrase",
        "display_name": "New",
        "timezone": "Asia/Kolkata",
        "device_name": "Pixel 8",
    }
    body.update(overrides)
    return body


def login(api, email, password=DEFAULT_PASSWORD, device_name="phone"):
    return api.post(LOGIN, {"email": email, "password": password, "device_name": device_name}, format="json")


def test_register_creates_client_and_returns_a_working_token(anon_api):
    response = anon_api.post(REGISTER, register_body(email="New.Person@Example.TEST"), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"token", "expires_at", "user"}
    assert body["user"]["email"] == "new.person@example.test"
    assert body["user"]["role"] == "client"
    assert body["user"]["timezone"] == "Asia/Kolkata"
    assert "password" not in body["user"]

    user = User.objects.get(email="new.person@example.test")
    token_row = DeviceToken.objects.get(user=user)
    assert token_row.device_name == "Pixel 8"
    assert body["token"] not in token_row.digest  # stored hashed, not in clear

    anon_api.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert anon_api.get("/api/v1/me").json()["email"] == "new.person@example.test"


def test_registered_therapist_starts_unverified(anon_api):
    response = anon_api.post(REGISTER, register_body(role="therapist"), format="json")
    assert response.status_code == 201
    assert response.json()["user"]["is_verified"] is False


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": None}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"email": ["a@b.c"]}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "password123"}, "password"),  # common
        ({"password": "12345678901234"}, "password"),  # numeric
        ({"password": "new.person@example"}, "password"),  # too similar to the email
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": 7}, "timezone"),
        ({"role": "admin"}, "role"),
        ({"display_name": "x" * 81}, "display_name"),
    ],
)
def test_register_rejects_bad_input_without_creating_anyone(anon_api, overrides, field):
    body = {k: v for k, v in register_body(**overrides).items() if v is not None}
    response = anon_api.post(REGISTER, body, format="json")
    assert_error(response, 400, "validation_error", fields=[field])
    assert not User.objects.exists()


def test_register_duplicate_email_is_a_conflict_case_insensitively(anon_api):
    UserFactory(email="taken@example.test")
    response = anon_api.post(REGISTER, register_body(email="TAKEN@example.test"), format="json")
    assert_error(response, 409, "email_taken", fields=["email"])
    assert User.objects.filter(email="taken@example.test").count() == 1


def test_register_rejects_a_json_array_and_non_json(anon_api):
    assert_error(anon_api.post(REGISTER, [1, 2], format="json"), 400, "validation_error")
    response = anon_api.post(REGISTER, "email=a@b.c", content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, "unsupported_media_type")
    response = anon_api.post(REGISTER, "{not json", content_type="application/json")
    assert_error(response, 400)


@override_settings(MAX_REQUEST_BODY_BYTES=10_000)
def test_oversized_body_is_refused_with_413(anon_api):
    response = anon_api.post(REGISTER, register_body(display_name="x" * 20_000), format="json")
    assert_error(response, 413, "request_too_large")
    assert not User.objects.exists()


def test_login_on_two_devices_then_logout_one_then_logout_all(anon_api, client_user):
    from rest_framework.test import APIClient

    phone = login(anon_api, client_user.email, device_name="phone").json()["token"]
    tablet = login(anon_api, client_user.email, device_name="tablet").json()["token"]
    assert phone != tablet
    assert set(DeviceToken.objects.filter(user=client_user).values_list("device_name", flat=True)) == {
        "phone",
        "tablet",
    }

    def me(token, scheme="Token"):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"{scheme} {token}")
        return api.get("/api/v1/me")

    assert me(phone).status_code == 200
    assert me(tablet, scheme="Bearer").status_code == 200

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {phone}")
    assert api.post("/api/v1/auth/logout").status_code == 204
    assert_error(me(phone), 401)
    assert me(tablet).status_code == 200

    login(anon_api, client_user.email, device_name="laptop")
    api.credentials(HTTP_AUTHORIZATION=f"Token {tablet}")
    assert api.post("/api/v1/auth/logout-all").status_code == 204
    assert_error(me(tablet), 401)
    assert not DeviceToken.objects.filter(user=client_user).exists()


def test_expired_token_gets_401(anon_api, client_user):
    token = login(anon_api, client_user.email).json()["token"]
    anon_api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert anon_api.get("/api/v1/me").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert_error(anon_api.get("/api/v1/me"), 401, "not_authenticated")


def test_login_response_shape_and_expiry(anon_api, client_user):
    with time_machine.travel("2026-03-01T12:00:00Z", tick=False):
        body = login(anon_api, client_user.email).json()
    assert body["expires_at"].startswith("2026-03-31T12:00:00")
    assert body["user"]["id"] == str(client_user.id)


def test_wrong_password_and_unknown_email_look_the_same(anon_api, client_user):
    wrong = assert_error(login(anon_api, client_user.email, password="nope-nope-nope"), 401, "invalid_credentials")
    unknown = assert_error(login(anon_api, "nobody@example.test"), 401, "invalid_credentials")
    assert wrong == unknown


@override_settings(LOGIN_FAILURE_LIMIT=3, LOGIN_LOCKOUT_SECONDS=600)
def test_repeated_failures_lock_the_account_even_for_the_right_password(anon_api, client_user):
    for _ in range(2):
        assert_error(login(anon_api, client_user.email, password="wrong-wrong-wrong"), 401)
    locked = login(anon_api, client_user.email, password="wrong-wrong-wrong")
    assert_error(locked, 429, "account_locked")
    assert int(locked["Retry-After"]) == 600

    still_locked = login(anon_api, client_user.email)  # right password, still locked
    assert_error(still_locked, 429, "account_locked")
    assert 1 <= int(still_locked["Retry-After"]) <= 600

    # Another account is not affected.
    other = UserFactory()
    assert login(anon_api, other.email).status_code == 200


@override_settings(LOGIN_FAILURE_LIMIT=2, LOGIN_LOCKOUT_SECONDS=60)
def test_lock_expires(anon_api, client_user):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _ in range(2):
            login(anon_api, client_user.email, password="wrong-wrong-wrong")
        assert login(anon_api, client_user.email).status_code == 429
        traveller.shift(timedelta(seconds=61))
        # LocMem and Redis caches expire by their own clocks; the lock's own deadline has passed.
        response = login(anon_api, client_user.email)
    assert response.status_code == 200, response.content


def test_success_resets_the_failure_count(anon_api, client_user, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(2):
        login(anon_api, client_user.email, password="wrong-wrong-wrong")
    assert login(anon_api, client_user.email).status_code == 200
    for _ in range(2):
        assert login(anon_api, client_user.email, password="wrong-wrong-wrong").status_code == 401
    assert login(anon_api, client_user.email).status_code == 200


def test_auth_endpoints_are_throttled(anon_api, settings):
    from rest_framework.throttling import ScopedRateThrottle

    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": "3/min"}
    original = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = rates
    try:
        statuses = [anon_api.post(REGISTER, {}, format="json").status_code for _ in range(4)]
        throttled = anon_api.post(LOGIN, {}, format="json")
    finally:
        ScopedRateThrottle.THROTTLE_RATES = original
    assert statuses == [400, 400, 400, 429]
    assert_error(throttled, 429, "throttled")
    assert int(throttled["Retry-After"]) >= 1


def test_me_requires_a_token(anon_api):
    assert_error(anon_api.get("/api/v1/me"), 401, "not_authenticated")
    anon_api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error(anon_api.get("/api/v1/me"), 401)
    anon_api.credentials(HTTP_AUTHORIZATION="Token a b")
    assert_error(anon_api.get("/api/v1/me"), 401)


def test_me_patch_changes_profile(client_api, client_user):
    response = client_api.patch(
        "/api/v1/me", {"display_name": "Case", "timezone": "Pacific/Auckland", "locale": "de"}, format="json"
    )
    assert response.status_code == 200
    client_user.refresh_from_db()
    assert (client_user.display_name, client_user.timezone, client_user.locale) == ("Case", "Pacific/Auckland", "de")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"display_name": "x" * 81}, "display_name"),
        ({"locale": {"a": 1}}, "locale"),
    ],
)
def test_me_patch_rejects_bad_input_and_changes_nothing(client_api, client_user, body, field):
    assert_error(client_api.patch("/api/v1/me", body, format="json"), 400, "validation_error", fields=[field])
    client_user.refresh_from_db()
    assert client_user.timezone == "Europe/Berlin"
    assert client_user.display_name == "Casey"


def test_me_patch_cannot_change_role_or_verification(client_api, client_user):
    response = client_api.patch("/api/v1/me", {"role": "therapist", "is_verified": True}, format="json")
    assert response.status_code == 200
    client_user.refresh_from_db()
    assert client_user.role == "client" and client_user.is_verified_therapist is False


def test_inactive_user_token_is_refused(client_api, client_user):
    User.objects.filter(pk=client_user.pk).update(is_active=False)
    assert_error(client_api.get("/api/v1/me"), 401)
