"""Clinics: invitations by email (single-use, expiring), licences (verification derives from them,
an expired one is not verified), suspension on the very next request, and nothing of a client's data
for the clinic. Through the API and the dashboard, on a travelled clock where time matters."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import api_for
from tests.factories import DEFAULT_PASSWORD, ClinicAdminFactory, TherapistFactory
from tests.helpers import assert_error, web_login
from tests.sharing.factories import ShareGrantFactory, history_for
from tracker.models import ClinicInvitation, ClinicMembership, DeviceToken, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return ClinicAdminFactory(email="ada.admin@example.test")


@pytest.fixture
def admin_api(admin):
    return api_for(admin)


@pytest.fixture(autouse=True)
def _on_commit(django_capture_on_commit_callbacks):
    global COMMITTED
    COMMITTED = django_capture_on_commit_callbacks


def invite(admin_api, admin, email="nia.new@example.test") -> str:
    """Invite by email through the API; the token from the link in the email that was sent (on commit:
    the test transaction never commits, so the commit callbacks are run as a commit would)."""
    mail.outbox.clear()
    with COMMITTED(execute=True):
        response = admin_api.post(f"/api/v1/clinics/{admin.clinic.id}/invitations/", {"email": email}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending"
    (message,) = mail.outbox
    assert message.to == [email]
    return re.search(r"/dashboard/clinics/join/([\w-]+)/", message.body).group(1)


NEW_PASSWORD = "a-long-new-passphrase-7"


def join(token: str, password=NEW_PASSWORD, **extra):
    body = {"token": token, "password": password, **extra}
    return APIClient().post("/api/v1/clinics/join/", body, format="json")


def add_therapist(admin_api, admin, email="nia.new@example.test") -> tuple[User, str]:
    response = join(invite(admin_api, admin, email), display_name="Nia")
    assert response.status_code == 201, response.content
    return User.objects.get(email=email), response.json()["member_id"]


def test_invitation_email_has_the_link_and_nothing_else(admin_api, admin):
    token = invite(admin_api, admin)
    (message,) = mail.outbox
    assert admin.clinic.name in message.subject
    assert "works once" in message.body
    # Only a hash of the token is stored.
    assert not ClinicInvitation.objects.filter(token_hash=token).exists()


def test_the_link_creates_an_unverified_therapist_and_works_once(admin_api, admin):
    token = invite(admin_api, admin)
    first = join(token, display_name="Nia")
    assert first.status_code == 201
    nia = User.objects.get(email="nia.new@example.test")
    assert nia.role == "therapist" and nia.check_password("a-long-new-passphrase-7")
    assert not nia.is_verified_therapist  # joined, but no licence checked yet
    assert_error(join(token), 404, "invitation_invalid")
    assert Client().get(f"/dashboard/clinics/join/{token}/").status_code == 404


def test_the_link_expires(admin_api, admin, settings):
    settings.CLINIC_INVITATION_TTL_HOURS = 72
    start = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)  # spans Europe's autumn DST change
    with time_machine.travel(start, tick=False):
        token = invite(admin_api, admin)
    with time_machine.travel(start + timedelta(hours=72, seconds=-1), tick=False):
        assert Client().get(f"/dashboard/clinics/join/{token}/").status_code == 200
    with time_machine.travel(start + timedelta(hours=72), tick=False):
        assert_error(join(token), 404, "invitation_invalid")
        listed = admin_api.get(f"/api/v1/clinics/{admin.clinic.id}/invitations/").json()["results"]
        assert [i["status"] for i in listed] == ["expired"]
    assert not User.objects.filter(email="nia.new@example.test").exists()


def test_an_existing_therapist_joins_with_their_password_and_a_wrong_one_writes_nothing(admin_api, admin):
    theo = TherapistFactory(email="theo.t@example.test")
    token = invite(admin_api, admin, theo.email)
    assert_error(join(token, password="wrong-password-1"), 401, "invalid_credentials")
    assert not ClinicMembership.objects.filter(clinic=admin.clinic, user=theo).exists()
    assert ClinicInvitation.objects.get(clinic=admin.clinic).used_at is None  # the link still works
    assert join(token, password=DEFAULT_PASSWORD).status_code == 201
    assert ClinicMembership.objects.filter(clinic=admin.clinic, user=theo).exists()


def test_a_weak_new_password_is_a_400_and_the_link_survives(admin_api, admin):
    token = invite(admin_api, admin)
    assert_error(join(token, password="short"), 400, fields=["password"])
    assert not User.objects.filter(email="nia.new@example.test").exists()
    assert join(token).status_code == 201


def test_verification_derives_from_a_checked_unexpired_licence(admin_api, admin):
    nia, member_id = add_therapist(admin_api, admin)
    base = f"/api/v1/clinics/{admin.clinic.id}/members/{member_id}"
    assert_error(admin_api.post(f"{base}/licence/verify/"), 409, "licence_missing")
    start = datetime(2026, 6, 30, 21, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        expired = {"number": "PSY-1", "jurisdiction": "DE-BE", "expires_on": "2026-06-29"}
        assert admin_api.put(f"{base}/licence/", expired, format="json").status_code == 200
        assert_error(admin_api.post(f"{base}/licence/verify/"), 409, "licence_expired")
        current = {**expired, "expires_on": "2026-06-30"}
        assert admin_api.put(f"{base}/licence/", current, format="json").json()["licence_expired"] is False
        verified = admin_api.post(f"{base}/licence/verify/")
        assert verified.status_code == 200 and verified.json()["verified"] is True
        assert User.objects.get(pk=nia.pk).is_verified_therapist
    # Valid through its expiry date in UTC, whatever the therapist's own zone; not a second later.
    for zone in ("Pacific/Auckland", "America/Los_Angeles"):
        User.objects.filter(pk=nia.pk).update(timezone=zone)
        with time_machine.travel(datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC), tick=False):
            assert User.objects.get(pk=nia.pk).is_verified_therapist
        with time_machine.travel(datetime(2026, 7, 1, 0, 0, tzinfo=UTC), tick=False):
            assert not User.objects.get(pk=nia.pk).is_verified_therapist
            assert admin_api.get(f"{base}/").json()["licence_expired"] is True
    # Changing the details needs a new check.
    with time_machine.travel(start, tick=False):
        renewed = {"number": "PSY-2", "jurisdiction": "DE-BE", "expires_on": "2027-06-30"}
        assert admin_api.put(f"{base}/licence/", renewed, format="json").json()["verified"] is False


def test_licence_input_errors_are_400_and_write_nothing(admin_api, admin):
    _, member_id = add_therapist(admin_api, admin)
    url = f"/api/v1/clinics/{admin.clinic.id}/members/{member_id}/licence/"
    assert_error(admin_api.put(url, {"number": "X", "jurisdiction": "Y", "expires_on": "soon"}, format="json"), 400)
    assert ClinicMembership.objects.get(pk=member_id).licence_number == ""


def test_suspension_ends_access_on_the_very_next_request(admin_api, admin, client_user):
    theo = TherapistFactory(email="theo.t@example.test")
    ClinicMembership.objects.filter(user=theo).delete()  # only this clinic vouches for Theo
    member = ClinicMembership.objects.create(
        clinic=admin.clinic,
        user=theo,
        role="therapist",
        licence_number="L",
        licence_jurisdiction="DE",
        licence_expires_on=date(2099, 1, 1),
        licence_verified_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    ShareGrantFactory(client=client_user, therapist=theo)
    history_for(client_user, weeks=1)
    theo_api = api_for(theo)
    browser = web_login(Client(), theo)
    url = f"/api/v1/clients/{client_user.id}/checkins/"
    assert theo_api.get(url).status_code == 200
    assert browser.get(f"/dashboard/clients/{client_user.id}/").status_code == 200

    response = admin_api.post(f"/api/v1/clinics/{admin.clinic.id}/members/{member.id}/suspend/")
    assert response.status_code == 200 and response.json()["suspended_at"] is not None
    assert theo_api.get(url).status_code == 401  # the API token is gone
    assert not DeviceToken.objects.filter(user=theo).exists()
    assert browser.get(f"/dashboard/clients/{client_user.id}/").status_code == 404
    assert browser.get("/dashboard/").status_code == 403
    # A fresh login gets a token, but no client data.
    assert api_for(theo).get(url).status_code == 404

    admin_api.post(f"/api/v1/clinics/{admin.clinic.id}/members/{member.id}/reinstate/")
    assert api_for(theo).get(url).status_code == 200


def test_the_clinic_never_sees_a_clients_data(admin_api, admin, client_user):
    theo, _ = add_therapist(admin_api, admin)
    ShareGrantFactory(client=client_user, therapist=theo)
    history_for(client_user, weeks=1)
    members = admin_api.get(f"/api/v1/clinics/{admin.clinic.id}/members/").json()["results"]
    assert str(client_user.id) not in str(members) and client_user.email not in str(members)
    assert admin_api.get("/api/v1/clients/").status_code == 403
    assert admin_api.get(f"/api/v1/clients/{client_user.id}/checkins/").status_code == 404


def test_another_clinics_admin_gets_404_everywhere(admin_api, admin):
    _, member_id = add_therapist(admin_api, admin)
    stranger = api_for(ClinicAdminFactory())
    base = f"/api/v1/clinics/{admin.clinic.id}"
    for method, path in [
        ("get", "/"),
        ("get", "/members/"),
        ("get", f"/members/{member_id}/"),
        ("post", f"/members/{member_id}/suspend/"),
        ("post", f"/members/{member_id}/licence/verify/"),
        ("get", "/invitations/"),
    ]:
        assert_error(getattr(stranger, method)(base + path), 404)
    assert ClinicMembership.objects.get(pk=member_id).suspended_at is None
    assert stranger.get("/api/v1/clinics/").json()["results"] != []  # their own clinic only
    assert [c["id"] for c in stranger.get("/api/v1/clinics/").json()["results"]] != [str(admin.clinic.id)]


def test_nobody_verifies_their_own_licence(admin):
    from tracker.clinics.services import licence_record, licence_verify
    from tracker.common.errors import Forbidden

    both = ClinicMembership.objects.create(clinic=admin.clinic, user=TherapistFactory(), role="therapist")
    licence_record(membership=both, number="L", jurisdiction="DE", expires_on=date(2099, 1, 1))
    with pytest.raises(Forbidden):
        licence_verify(membership=both, by=both.user)


def test_clinic_admins_manage_from_the_dashboard(admin, client):
    web_login(client, admin)
    assert client.get("/dashboard/")["Location"] == "/dashboard/clinics/"
    page = client.get(f"/dashboard/clinics/{admin.clinic.id}/")
    assert page.status_code == 200 and admin.clinic.name in page.content.decode()
    mail.outbox.clear()
    with COMMITTED(execute=True):
        sent = client.post(f"/dashboard/clinics/{admin.clinic.id}/", {"email": "nia.new@example.test"})
    assert sent.status_code == 302 and len(mail.outbox) == 1
    token = re.search(r"/dashboard/clinics/join/([\w-]+)/", mail.outbox[0].body).group(1)
    joined = Client().post(f"/dashboard/clinics/join/{token}/", {"display_name": "Nia", "password": "a-long-pass-77"})
    assert joined.status_code == 302
    member = ClinicMembership.objects.get(user__email="nia.new@example.test")
    url = f"/dashboard/clinics/{admin.clinic.id}/members/{member.id}/"
    licence = {"action": "licence", "number": "PSY-9", "jurisdiction": "DE-BE", "expires_on": "2099-01-01"}
    assert client.post(url, licence).status_code == 302
    assert client.post(url, {"action": "verify"}).status_code == 302
    assert User.objects.get(pk=member.user_id).is_verified_therapist
    assert client.post(url, {"action": "suspend"}).status_code == 302
    assert not User.objects.get(pk=member.user_id).is_verified_therapist
    assert "Suspended since" in client.get(url).content.decode()
    bad = client.post(url, {"action": "licence", "number": "", "jurisdiction": "", "expires_on": "x"})
    assert bad.status_code == 400 and ClinicMembership.objects.get(pk=member.id).licence_number == "PSY-9"


def test_dashboard_posts_need_csrf(admin):
    browser = web_login(Client(enforce_csrf_checks=True), admin)
    assert browser.post(f"/dashboard/clinics/{admin.clinic.id}/", {"email": "x@example.test"}).status_code == 403
    assert not ClinicInvitation.objects.exists()


def test_clinic_create_command_appoints_an_admin(capsys):
    from django.core.management import call_command

    call_command("clinic_create", "North Practice", "--admin-email", "boss@example.test")
    boss = User.objects.get(email="boss@example.test")
    assert boss.role == "clinic_admin" and boss.clinic_memberships.get().clinic.name == "North Practice"
    assert "set a password" in capsys.readouterr().out


def test_a_cancelled_invitation_link_stops_working_and_members_are_not_invited_twice(admin_api, admin):
    token = invite(admin_api, admin)
    (listed,) = admin_api.get(f"/api/v1/clinics/{admin.clinic.id}/invitations/").json()["results"]
    assert admin_api.delete(f"/api/v1/clinics/{admin.clinic.id}/invitations/{listed['id']}/").status_code == 204
    assert_error(join(token), 404, "invitation_invalid")
    theo = TherapistFactory()
    ClinicMembership.objects.create(clinic=admin.clinic, user=theo, role="therapist")
    response = admin_api.post(f"/api/v1/clinics/{admin.clinic.id}/invitations/", {"email": theo.email}, format="json")
    assert_error(response, 409, "already_member")
    assert_error(
        admin_api.post(f"/api/v1/clinics/{admin.clinic.id}/invitations/", {"email": "not-an-email"}, format="json"),
        400,
        fields=["email"],
    )
