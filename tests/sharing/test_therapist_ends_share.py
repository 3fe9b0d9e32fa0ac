"""A therapist ends a share themselves: DELETE clients/{id}/ revokes the grant, as the client's revoke would."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.helpers import assert_error
from tests.sharing.factories import ShareGrantFactory
from tracker.models import ShareGrant

pytestmark = pytest.mark.django_db

CLIENT_READS = ["", "checkins/", "regulation-logs/", "trends/", "summaries/", "digest/"]


def client_url(client, suffix: str = "") -> str:
    return f"/api/v1/clients/{client.id}/{suffix}"


def test_therapist_ends_a_share_and_every_later_read_is_a_404(therapist_api, therapist, client_user, client_api):
    grant = ShareGrantFactory(client=client_user, therapist=therapist)
    assert therapist_api.get(client_url(client_user)).status_code == 200

    assert therapist_api.delete(client_url(client_user)).status_code == 204
    grant.refresh_from_db()
    assert grant.status == ShareGrant.Status.REVOKED and grant.revoked_by == ShareGrant.RevokedBy.THERAPIST
    assert timezone.now() - timedelta(minutes=1) < grant.revoked_at <= timezone.now()

    for suffix in CLIENT_READS:
        assert_error(therapist_api.get(client_url(client_user, suffix)), 404)
    assert therapist_api.get("/api/v1/clients/").json()["results"] == []
    assert_error(therapist_api.delete(client_url(client_user)), 404, "not_found")  # nothing live left

    # The client sees it in their list as revoked, and by whom.
    listed = client_api.get("/api/v1/shares/").json()["results"]
    assert [(s["id"], s["status"], s["revoked_by"]) for s in listed] == [(str(grant.id), "revoked", "therapist")]
    assert listed[0]["revoked_at"] is not None


def test_the_clients_own_revoke_is_recorded_as_the_clients(client_api, client_user, therapist):
    grant = ShareGrantFactory(client=client_user, therapist=therapist)
    assert client_api.get(f"/api/v1/shares/{grant.id}").json()["revoked_by"] is None
    assert client_api.delete(f"/api/v1/shares/{grant.id}").status_code == 204
    assert client_api.get(f"/api/v1/shares/{grant.id}").json()["revoked_by"] == "client"


def test_ending_twice_keeps_the_first_side_and_time(client_api, client_user, therapist, therapist_api):
    grant = ShareGrantFactory(client=client_user, therapist=therapist)
    assert client_api.delete(f"/api/v1/shares/{grant.id}").status_code == 204
    first = ShareGrant.objects.get(pk=grant.pk)
    assert_error(therapist_api.delete(client_url(client_user)), 404)  # already revoked by the client
    after = ShareGrant.objects.get(pk=grant.pk)
    assert (after.revoked_by, after.revoked_at) == ("client", first.revoked_at)


def test_only_the_share_with_this_therapist_ends(
    therapist_api, therapist, other_therapist, other_therapist_api, client_user, other_client
):
    mine = ShareGrantFactory(client=client_user, therapist=therapist)
    theirs = ShareGrantFactory(client=client_user, therapist=other_therapist)
    other = ShareGrantFactory(client=other_client, therapist=therapist)

    assert therapist_api.delete(client_url(client_user)).status_code == 204
    statuses = dict(ShareGrant.objects.values_list("id", "status"))
    assert statuses == {mine.id: "revoked", theirs.id: "active", other.id: "active"}
    assert other_therapist_api.get(client_url(client_user)).status_code == 200
    assert therapist_api.get(client_url(other_client)).status_code == 200


def test_no_live_share_is_a_404_and_changes_nothing(
    therapist_api, therapist, other_therapist_api, client_user, client_api
):
    assert_error(therapist_api.delete(client_url(client_user)), 404, "not_found")  # never shared
    grant = ShareGrantFactory(client=client_user, therapist=therapist)
    assert_error(other_therapist_api.delete(client_url(client_user)), 404, "not_found")  # someone else's share
    assert_error(client_api.delete(client_url(client_user)), 404, "not_found")  # the client is no therapist
    ShareGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert_error(therapist_api.delete(client_url(client_user)), 404, "not_found")  # expired
    assert ShareGrant.objects.get(pk=grant.pk).status == "active" and ShareGrant.objects.get().revoked_by is None


def test_a_client_can_share_again_after_the_therapist_ended_it(therapist_api, therapist, client_user, client_api):
    ShareGrantFactory(client=client_user, therapist=therapist)
    assert therapist_api.delete(client_url(client_user)).status_code == 204
    code = client_api.post("/api/v1/shares/invites", {}, format="json").json()["code"]
    assert therapist_api.post("/api/v1/shares/accept", {"code": code}, format="json").status_code == 201
    assert therapist_api.get(client_url(client_user)).status_code == 200
