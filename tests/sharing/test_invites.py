"""Invites: single-use codes, 72 h expiry, only verified therapists accept, guessing throttled."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.conftest import api_for
from tests.factories import TherapistFactory
from tests.helpers import assert_error
from tracker.models import ShareGrant, ShareInvite
from tracker.sharing.services import CODE_ALPHABET

pytestmark = pytest.mark.django_db

INVITES = "/api/v1/shares/invites"
ACCEPT = "/api/v1/shares/accept"


def create_invite(api, **body):
    response = api.post(INVITES, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_invite_code_is_short_unambiguous_and_stored_only_hashed(client_api):
    body = create_invite(client_api)
    code = body["code"]
    assert re.fullmatch(r"[A-Z2-9]{5}-[A-Z2-9]{5}", code)
    assert not set(code.replace("-", "")) & set("01OIL")
    assert set(code.replace("-", "")) <= set(CODE_ALPHABET)
    assert body["scopes"] == ["checkins", "regulation_logs", "summaries"]  # notes off by default
    invite = ShareInvite.objects.get(pk=body["id"])
    assert code not in invite.code_hash and code.replace("-", "") not in invite.code_hash
    expires = timezone.datetime.fromisoformat(body["expires_at"])
    assert timedelta(hours=71, minutes=59) < expires - timezone.now() <= timedelta(hours=72)


def test_only_clients_create_invites(therapist_api):
    assert_error(therapist_api.post(INVITES, {}, format="json"), 403, "clients_only")


@pytest.mark.parametrize(
    "body",
    [{"scopes": []}, {"scopes": ["everything"]}, {"scopes": "checkins"}, {"grant_expires_at": "2000-01-01T00:00:00Z"}],
)
def test_invite_rejects_bad_scopes(client_api, body):
    assert_error(client_api.post(INVITES, body, format="json"), 400, "validation_error")
    assert not ShareInvite.objects.exists()


def test_verified_therapist_accepts_once_with_the_invites_scopes(client_api, client_user, therapist_api, therapist):
    code = create_invite(client_api, scopes=["checkins", "notes"])["code"]
    # People type codes in lower case, with or without the dash.
    response = therapist_api.post(ACCEPT, {"code": code.lower().replace("-", " ")}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["client"]["id"] == str(client_user.id)
    assert body["scopes"] == ["checkins", "notes"]
    grant = ShareGrant.objects.get(pk=body["id"])
    assert (grant.client, grant.therapist, grant.status) == (client_user, therapist, "active")

    other = api_for(TherapistFactory())
    assert_error(other.post(ACCEPT, {"code": code}, format="json"), 404, "invalid_code")
    assert ShareGrant.objects.count() == 1


def test_invite_expires_after_72_hours(client_api, therapist_api):
    code = create_invite(client_api)["code"]
    with time_machine.travel(timezone.now() + timedelta(hours=72, seconds=1)):
        assert_error(therapist_api.post(ACCEPT, {"code": code}, format="json"), 404, "invalid_code")
    assert not ShareGrant.objects.exists()


def test_invite_is_still_valid_just_before_expiry(client_api, therapist_api):
    code = create_invite(client_api)["code"]
    with time_machine.travel(timezone.now() + timedelta(hours=71, minutes=59)):
        assert therapist_api.post(ACCEPT, {"code": code}, format="json").status_code == 201


def test_unverified_therapists_and_clients_cannot_accept(client_api, other_client_api):
    code = create_invite(client_api)["code"]
    unverified = api_for(TherapistFactory(is_verified=False))
    assert_error(unverified.post(ACCEPT, {"code": code}, format="json"), 403, "not_a_verified_therapist")
    assert_error(other_client_api.post(ACCEPT, {"code": code}, format="json"), 403, "not_a_verified_therapist")
    assert_error(client_api.post(ACCEPT, {"code": code}, format="json"), 403)
    assert not ShareGrant.objects.exists()
    assert ShareInvite.objects.get().used_at is None  # still usable by the real therapist


def test_second_share_with_the_same_therapist_is_a_conflict_and_keeps_the_code(client_api, therapist_api):
    assert therapist_api.post(ACCEPT, {"code": create_invite(client_api)["code"]}, format="json").status_code == 201
    second = create_invite(client_api)["code"]
    assert_error(therapist_api.post(ACCEPT, {"code": second}, format="json"), 409, "already_shared")
    assert ShareGrant.objects.count() == 1


def test_wrong_codes_are_throttled_per_therapist_with_retry_after(client_api, therapist_api, settings):
    settings.SHARE_ACCEPT_FAILURES_PER_THERAPIST = 3
    good = create_invite(client_api)["code"]
    for _ in range(3):
        assert_error(therapist_api.post(ACCEPT, {"code": "ABCDE-FGHJK"}, format="json"), 404, "invalid_code")
    response = therapist_api.post(ACCEPT, {"code": good}, format="json")
    assert_error(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= settings.SHARE_ACCEPT_WINDOW_SECONDS
    assert not ShareGrant.objects.exists()  # even the right code is refused while locked

    # The lock is per therapist: another therapist (another IP, too) is unaffected.
    other = api_for(TherapistFactory())
    assert other.post(ACCEPT, {"code": good}, format="json", REMOTE_ADDR="10.0.0.9").status_code == 201


def test_wrong_codes_are_throttled_per_ip_across_therapists(client_api, settings):
    settings.SHARE_ACCEPT_FAILURES_PER_IP = 4
    good = create_invite(client_api)["code"]
    for _ in range(4):
        api = api_for(TherapistFactory())  # a fresh account each time: the per-therapist count never trips
        assert_error(api.post(ACCEPT, {"code": "ZZZZZ-ZZZZZ"}, format="json", REMOTE_ADDR="192.0.2.7"), 404)
    fresh = api_for(TherapistFactory())
    response = fresh.post(ACCEPT, {"code": good}, format="json", REMOTE_ADDR="192.0.2.7")
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert fresh.post(ACCEPT, {"code": good}, format="json", REMOTE_ADDR="192.0.2.8").status_code == 201


def test_lockout_ends_after_the_window(client_api, therapist_api, settings):
    settings.SHARE_ACCEPT_FAILURES_PER_THERAPIST = 2
    good = create_invite(client_api, grant_expires_at=(timezone.now() + timedelta(days=90)).isoformat())["code"]
    for _ in range(2):
        therapist_api.post(ACCEPT, {"code": "ABCDE-FGHJK"}, format="json")
    assert therapist_api.post(ACCEPT, {"code": good}, format="json").status_code == 429
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SHARE_ACCEPT_WINDOW_SECONDS + 1)):
        response = therapist_api.post(ACCEPT, {"code": good}, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["expires_at"] is not None


def test_client_lists_changes_scopes_and_revokes(client_api, client_user, therapist_api, therapist):
    code = create_invite(client_api)["code"]
    grant_id = therapist_api.post(ACCEPT, {"code": code}, format="json").json()["id"]
    listing = client_api.get("/api/v1/shares/").json()
    assert [g["id"] for g in listing["results"]] == [grant_id]
    assert listing["results"][0]["therapist"]["display_name"] == "Theo"
    assert listing["results"][0]["status"] == "active"

    response = client_api.patch(f"/api/v1/shares/{grant_id}", {"scopes": ["summaries"]}, format="json")
    assert response.status_code == 200 and response.json()["scopes"] == ["summaries"]
    assert_error(client_api.patch(f"/api/v1/shares/{grant_id}", {"scopes": []}, format="json"), 400)

    assert client_api.delete(f"/api/v1/shares/{grant_id}").status_code == 204
    assert client_api.get(f"/api/v1/shares/{grant_id}").json()["status"] == "revoked"
    assert client_api.delete(f"/api/v1/shares/{grant_id}").status_code == 204  # idempotent
    assert_error(client_api.patch(f"/api/v1/shares/{grant_id}", {"scopes": ["checkins"]}, format="json"), 409)


def test_other_people_cannot_see_or_touch_a_share(client_api, therapist_api, other_client_api, other_therapist_api):
    grant_id = therapist_api.post(ACCEPT, {"code": create_invite(client_api)["code"]}, format="json").json()["id"]
    for api in (other_client_api, therapist_api, other_therapist_api):
        assert api.get("/api/v1/shares/").json()["results"] == []
        assert_error(api.get(f"/api/v1/shares/{grant_id}"), 404)
        assert_error(api.patch(f"/api/v1/shares/{grant_id}", {"scopes": ["notes"]}, format="json"), 404)
        assert_error(api.delete(f"/api/v1/shares/{grant_id}"), 404)
        assert_error(api.get(f"/api/v1/shares/{grant_id}/access-log"), 404)
        assert_error(api.get(f"/api/v1/shares/{grant_id}/preview"), 404)
    assert ShareGrant.objects.get().status == "active"


def test_invite_codes_are_unique_across_many(client_user):
    from tracker.sharing.services import invite_create

    codes = {invite_create(client=client_user, scopes=["checkins"]).code for _ in range(200)}
    assert len(codes) == 200
