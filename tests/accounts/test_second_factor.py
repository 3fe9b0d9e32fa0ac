"""Two-factor sign-in: TOTP enrolment and login on a frozen clock, recovery codes, lockout, the gate.

Codes are computed the way an authenticator app does (RFC 6238, django-otp's implementation) from
the secret the enrolment returned; the clock is frozen or travelled with time-machine."""

from base64 import b32decode
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from django_otp.oath import TOTP
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD, ClinicAdminFactory, TherapistFactory, UserFactory
from tests.helpers import assert_error, totp_code
from tracker.models import DeviceToken

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 29, 0, 59, 50, tzinfo=UTC)  # ten seconds before Europe's spring DST switch


def code_from_secret(secret: str, at: datetime) -> str:
    totp = TOTP(b32decode(secret), step=30, t0=0, digits=6)
    totp.time = at.timestamp()
    return f"{totp.token():06d}"


def password_step(api: APIClient, user) -> dict:
    response = api.post("/api/v1/auth/login/", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_enrolment_then_two_step_login_on_a_frozen_clock():
    therapist = TherapistFactory(mfa=False)
    api = APIClient()
    with time_machine.travel(T0, tick=False):
        first = password_step(api, therapist)
        assert "token" in first and "mfa_required" not in first  # not enrolled: a token, but gated
        api.credentials(HTTP_AUTHORIZATION=f"Token {first['token']}")
        assert_error(api.get("/api/v1/clients/"), 403, "mfa_required")
        assert api.get("/api/v1/auth/mfa/").json() == {"required": True, "enrolled": False, "recovery_codes_left": 0}

        started = api.post("/api/v1/auth/mfa/totp/")
        assert started.status_code == 201
        body = started.json()
        assert body["qr_svg"].startswith("<svg") and "otpauth" not in body["qr_svg"]  # inline, drawn locally
        url = urlparse(body["otpauth_url"])
        assert url.scheme == "otpauth" and parse_qs(url.query)["secret"] == [body["secret"]]
        assert_error(api.post("/api/v1/auth/mfa/totp/confirm/", {"code": "000000"}, format="json"), 401, "invalid_code")
        other = DeviceToken.objects.create(user=therapist)[1]  # a second password-only token
        confirmed = api.post(
            "/api/v1/auth/mfa/totp/confirm/", {"code": code_from_secret(body["secret"], T0)}, format="json"
        )
        assert confirmed.status_code == 200, confirmed.content
        codes = confirmed.json()["recovery_codes"]
        assert len(codes) == 10 and len(set(codes)) == 10
        assert api.get("/api/v1/clients/").status_code == 200  # this token stays, the gate opens
        stale = APIClient()
        stale.credentials(HTTP_AUTHORIZATION=f"Token {other}")
        assert stale.get("/api/v1/me/").status_code == 401  # password-only tokens were revoked

    # Twenty seconds later, across the DST switch (codes count UTC seconds): password, then code. The
    # enrolment's code is still inside the one-step tolerance, so only the replay guard refuses it.
    later = T0 + timedelta(seconds=20)
    with time_machine.travel(later, tick=False):
        anon = APIClient()
        challenge = password_step(anon, therapist)
        assert challenge["mfa_required"] is True and "token" not in challenge
        # The code of the step just used at enrolment is not accepted twice; the current one is.
        replay = {"mfa_token": challenge["mfa_token"], "code": code_from_secret(body["secret"], T0)}
        assert_error(anon.post("/api/v1/auth/login/mfa/", replay, format="json"), 401, "invalid_code")
        step = {"mfa_token": challenge["mfa_token"], "code": code_from_secret(body["secret"], later)}
        done = anon.post("/api/v1/auth/login/mfa/", step, format="json")
        assert done.status_code == 200, done.content
        assert done.json()["user"]["email"] == therapist.email
        anon.credentials(HTTP_AUTHORIZATION=f"Token {done.json()['token']}")
        assert anon.get("/api/v1/clients/").status_code == 200


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Auckland"])
def test_the_code_does_not_depend_on_the_users_timezone(zone):
    therapist = TherapistFactory(timezone=zone)
    with time_machine.travel(T0 + timedelta(hours=5), tick=False):
        challenge = password_step(APIClient(), therapist)
        response = APIClient().post(
            "/api/v1/auth/login/mfa/",
            {"mfa_token": challenge["mfa_token"], "code": totp_code(therapist)},
            format="json",
        )
        assert response.status_code == 200


def test_the_challenge_expires_after_five_minutes():
    therapist = TherapistFactory()
    with time_machine.travel(T0, tick=False):
        challenge = password_step(APIClient(), therapist)
    with time_machine.travel(T0 + timedelta(minutes=5, seconds=1), tick=False):
        body = {"mfa_token": challenge["mfa_token"], "code": totp_code(therapist)}
        assert_error(APIClient().post("/api/v1/auth/login/mfa/", body, format="json"), 401, "invalid_mfa_token")


def test_a_forged_or_tampered_challenge_is_refused():
    therapist = TherapistFactory()
    challenge = password_step(APIClient(), therapist)
    body = {"mfa_token": challenge["mfa_token"][:-2] + "xx", "code": totp_code(therapist)}
    assert_error(APIClient().post("/api/v1/auth/login/mfa/", body, format="json"), 401, "invalid_mfa_token")


def test_a_recovery_code_works_once_only():
    from tracker.accounts.second_factor import recovery_codes_replace

    therapist = TherapistFactory()
    codes = recovery_codes_replace(user=therapist)
    api = APIClient()
    first = password_step(api, therapist)
    response = api.post("/api/v1/auth/login/mfa/", {"mfa_token": first["mfa_token"], "code": codes[3]}, format="json")
    assert response.status_code == 200
    second = password_step(api, therapist)
    again = api.post("/api/v1/auth/login/mfa/", {"mfa_token": second["mfa_token"], "code": codes[3]}, format="json")
    assert_error(again, 401, "invalid_code")
    other = api.post(
        "/api/v1/auth/login/mfa/", {"mfa_token": second["mfa_token"], "code": codes[4].upper()}, format="json"
    )
    assert other.status_code == 200  # the others still work (typed in capitals, too)
    api.credentials(HTTP_AUTHORIZATION=f"Token {other.json()['token']}")
    assert api.get("/api/v1/auth/mfa/").json()["recovery_codes_left"] == 8


def test_wrong_codes_lock_the_second_step_like_the_password_step(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    therapist = TherapistFactory()
    api = APIClient()
    challenge = password_step(api, therapist)["mfa_token"]
    for _ in range(2):
        assert_error(api.post("/api/v1/auth/login/mfa/", {"mfa_token": challenge, "code": "1"}, format="json"), 401)
    locked = api.post("/api/v1/auth/login/mfa/", {"mfa_token": challenge, "code": "1"}, format="json")
    assert_error(locked, 429, "account_locked")
    assert int(locked["Retry-After"]) == settings.LOGIN_LOCKOUT_SECONDS
    # Even the right code waits for the lock, and so does a new challenge.
    right = api.post("/api/v1/auth/login/mfa/", {"mfa_token": challenge, "code": totp_code(therapist)}, format="json")
    assert_error(right, 429, "account_locked")
    assert not DeviceToken.objects.filter(user=therapist).exists()


def test_bad_input_on_the_code_step_is_a_400_in_the_error_shape():
    assert_error(
        APIClient().post("/api/v1/auth/login/mfa/", {"code": "123456"}, format="json"), 400, fields=["mfa_token"]
    )


def test_clients_never_see_the_second_step_nor_the_gate(client_user):
    api = APIClient()
    body = password_step(api, client_user)
    assert "token" in body and "mfa_required" not in body
    api.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert api.get("/api/v1/checkins/").status_code == 200


def test_enrolment_twice_is_a_conflict(therapist_api):
    assert_error(therapist_api.post("/api/v1/auth/mfa/totp/"), 409, "already_enrolled")


def test_clinic_admins_are_gated_too():
    admin = ClinicAdminFactory(mfa=False)
    api = APIClient()
    body = password_step(api, admin)
    api.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert_error(api.get(f"/api/v1/clinics/{admin.clinic.id}/members/"), 403, "mfa_required")
    assert api.get("/api/v1/me/").status_code == 200  # enrolment routes stay open


def test_dashboard_enrolment_with_qr_code_then_sign_in_with_code(client):
    therapist = TherapistFactory(mfa=False)
    with time_machine.travel(T0, tick=False):
        response = client.post("/dashboard/login/", {"username": therapist.email, "password": DEFAULT_PASSWORD})
        assert response["Location"] == "/dashboard/"
        assert client.get("/dashboard/")["Location"] == "/dashboard/two-factor/"  # gated until enrolled
        page = client.get("/dashboard/two-factor/").content.decode()
        assert "<svg" in page and 'id="totp-secret"' in page
        secret = page.split('id="totp-secret">')[1].split("<")[0]
        done = client.post("/dashboard/two-factor/", {"code": code_from_secret(secret, T0)})
        assert done.status_code == 200 and done.content.decode().count("<li><code>") == 10
        assert client.get("/dashboard/").status_code == 200
    client.post("/dashboard/logout/")
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        response = client.post("/dashboard/login/", {"username": therapist.email, "password": DEFAULT_PASSWORD})
        assert response["Location"] == "/dashboard/login/code/"
        wrong = client.post("/dashboard/login/code/", {"code": "000000"})
        assert wrong.status_code == 200 and "wrong or was already used" in wrong.content.decode()
        ok = client.post("/dashboard/login/code/", {"code": code_from_secret(secret, T0 + timedelta(minutes=1))})
        assert ok["Location"] == "/dashboard/"
        assert client.get("/dashboard/").status_code == 200


def test_a_session_without_the_code_step_is_signed_out(client):
    therapist = TherapistFactory()
    client.force_login(therapist)  # e.g. signed in before enrolling elsewhere: no otp device in the session
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/dashboard/login/")
    assert "_auth_user_id" not in client.session


def test_staff_need_a_code_in_the_admin(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    from tests.factories import _enrol_totp

    _enrol_totp(staff)
    login = {"username": staff.email, "password": DEFAULT_PASSWORD}
    assert client.post("/admin/login/?next=/admin/", login).status_code == 200  # no code: stays on the form
    assert client.get("/admin/").status_code == 302
    with_code = client.post("/admin/login/?next=/admin/", {**login, "otp_token": totp_code(staff)})
    assert with_code.status_code == 302 and with_code["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_clients_cannot_enrol_an_authenticator_that_would_protect_nothing(client_api):
    assert_error(client_api.post("/api/v1/auth/mfa/totp/"), 403, "mfa_not_available")
    assert_error(client_api.post("/api/v1/auth/mfa/totp/confirm/", {"code": "123456"}, format="json"), 403)
    assert client_api.get("/api/v1/auth/mfa/").json() == {
        "required": False,
        "enrolled": False,
        "recovery_codes_left": 0,
    }
