"""A client's pending invites: listed without their codes, and cancelled so they can no longer be accepted."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.conftest import api_for
from tests.factories import UserFactory
from tests.helpers import assert_error
from tracker.models import ShareGrant, ShareInvite

pytestmark = pytest.mark.django_db

INVITES = "/api/v1/shares/invites"
ACCEPT = "/api/v1/shares/accept"


def create_invite(api, **body) -> dict:
    response = api.post(INVITES, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_pending_invites_are_listed_newest_first_without_their_codes(client_api, other_client_api, therapist_api):
    now = timezone.now()
    with time_machine.travel(now - timedelta(hours=2)):
        older = create_invite(client_api, scopes=["checkins"])
    newer = create_invite(client_api, scopes=["summaries", "notes"])
    used = create_invite(client_api)
    assert therapist_api.post(ACCEPT, {"code": used["code"]}, format="json").status_code == 201
    with time_machine.travel(now - timedelta(hours=73)):
        create_invite(client_api)  # expired by now
    create_invite(other_client_api)  # someone else's

    body = client_api.get(INVITES).json()
    assert [i["id"] for i in body["results"]] == [newer["id"], older["id"]]
    first = body["results"][0]
    assert set(first) == {"id", "scopes", "created_at", "expires_at", "grant_expires_at"}
    assert first["scopes"] == ["notes", "summaries"]
    assert first["expires_at"] == newer["expires_at"]
    raw = client_api.get(INVITES).content.decode()
    for invite in (older, newer):
        assert invite["code"] not in raw and invite["code"].replace("-", "") not in raw
    assert "code_hash" not in raw


def test_a_cancelled_invite_can_no_longer_be_accepted(client_api, therapist_api):
    invite = create_invite(client_api)
    assert client_api.delete(f"{INVITES}/{invite['id']}").status_code == 204
    assert client_api.get(INVITES).json()["results"] == []
    assert_error(therapist_api.post(ACCEPT, {"code": invite["code"]}, format="json"), 404, "invalid_code")
    assert not ShareGrant.objects.exists()
    assert_error(client_api.delete(f"{INVITES}/{invite['id']}"), 404, "not_found")  # already gone


def test_cancelling_someone_elses_or_a_used_or_expired_invite_is_a_404(client_api, other_client_api, therapist_api):
    theirs = create_invite(other_client_api)
    assert_error(client_api.delete(f"{INVITES}/{theirs['id']}"), 404, "not_found")
    assert ShareInvite.objects.filter(pk=theirs["id"]).exists()

    used = create_invite(client_api)
    assert therapist_api.post(ACCEPT, {"code": used["code"]}, format="json").status_code == 201
    assert_error(client_api.delete(f"{INVITES}/{used['id']}"), 404, "not_found")
    assert ShareInvite.objects.get(pk=used["id"]).grant_id is not None

    expiring = create_invite(client_api)
    with time_machine.travel(timezone.now() + timedelta(hours=72, seconds=1)):
        assert_error(client_api.delete(f"{INVITES}/{expiring['id']}"), 404, "not_found")
    assert ShareInvite.objects.filter(pk=expiring["id"]).exists()

    # The therapist who accepted is not the invite's owner either.
    pending = create_invite(client_api)
    assert_error(therapist_api.delete(f"{INVITES}/{pending['id']}"), 404, "not_found")
    assert therapist_api.post(ACCEPT, {"code": pending["code"]}, format="json").status_code == 409  # still live


def test_cancelling_one_invite_leaves_the_others_usable(client_api, therapist_api):
    cancelled = create_invite(client_api)
    kept = create_invite(client_api)
    assert client_api.delete(f"{INVITES}/{cancelled['id']}").status_code == 204
    assert [i["id"] for i in client_api.get(INVITES).json()["results"]] == [kept["id"]]
    assert therapist_api.post(ACCEPT, {"code": kept["code"]}, format="json").status_code == 201


def test_invite_endpoints_need_a_login(anon_api, client_api):
    invite = create_invite(client_api)
    assert_error(anon_api.get(INVITES), 401)
    assert_error(anon_api.delete(f"{INVITES}/{invite['id']}"), 401)
    assert ShareInvite.objects.filter(pk=invite["id"]).exists()


@pytest.mark.parametrize("size", [2, 25])
def test_pending_invite_list_takes_a_constant_number_of_queries(size, django_assert_max_num_queries):
    client = UserFactory()
    api = api_for(client)
    for _ in range(size):
        create_invite(api)
    with django_assert_max_num_queries(3):  # token auth (2) + the page
        assert len(api.get(f"{INVITES}?page_size=200").json()["results"]) == size
