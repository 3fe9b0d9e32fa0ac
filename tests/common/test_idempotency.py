"""`Idempotency-Key` on POSTs that are not client-id creates: replay, mismatch, per user, expiry, races."""

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
import yaml
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.utils.module_loading import import_string

from tests.conftest import api_for
from tests.factories import UserFactory
from tests.helpers import api_routes, assert_error, at_once
from tests.sharing.factories import ShareGrantFactory
from tracker.common import idempotency
from tracker.models import IdempotencyRecord, ShareGrant, ShareInvite, TherapySession

pytestmark = pytest.mark.django_db

INVITES = "/api/v1/shares/invites/"
ACCEPT = "/api/v1/shares/accept"
KEY = "HTTP_IDEMPOTENCY_KEY"  # how Django's test client spells the `Idempotency-Key` header
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

# The POSTs that honour the header (every authenticated POST that is not a client-id create).
IDEMPOTENT_ROUTES = {
    "auth/logout/",
    "auth/logout-all/",
    "shares/invites/",
    "shares/accept/",
    "clients/<anyuuid:client_id>/sessions/",
    "devices/",
    "inbox/read-all/",
    "inbox/<anyuuid:pk>/read/",
    "inbox/<anyuuid:pk>/opened/",
}


def invite(api, key=None, scopes=("checkins",)):
    extra = {KEY: key} if key is not None else {}
    return api.post(INVITES, {"scopes": list(scopes)}, format="json", **extra)


def test_a_retry_replays_the_first_answer_and_creates_one_invite(client_api, client_user):
    first = invite(client_api, key="k-1")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    again = invite(client_api, key="k-1")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()  # the same one-time code, not a second invite
    assert ShareInvite.objects.filter(client=client_user).count() == 1


def test_a_replayed_session_mark_writes_one_session(therapist_api, therapist, client_user):
    ShareGrantFactory(client=client_user, therapist=therapist)
    url = f"/api/v1/clients/{client_user.id}/sessions/"
    first = therapist_api.post(url, {}, format="json", **{KEY: "session-1"})
    again = therapist_api.post(url, {}, format="json", **{KEY: "session-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert TherapySession.objects.filter(therapist=therapist, client=client_user).count() == 1


def test_replay_keeps_the_first_status_where_a_rerun_would_answer_differently(client_api):
    body = {"platform": "ios", "token": "tok-idem", "app_version": "2.0"}
    first = client_api.post("/api/v1/devices/", body, format="json", **{KEY: "dev-1"})
    again = client_api.post("/api/v1/devices/", body, format="json", **{KEY: "dev-1"})
    assert first.status_code == again.status_code == 201  # a re-registration without the key is 200
    assert again.json() == first.json()
    assert client_api.post("/api/v1/devices/", body, format="json").status_code == 200


def test_a_body_less_post_replays_too(client_api, client_user):
    first = client_api.post("/api/v1/inbox/read-all", **{KEY: "all-1"})
    again = client_api.post("/api/v1/inbox/read-all", **{KEY: "all-1"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() == {"marked": 0}
    assert again["Idempotent-Replayed"] == "true"


def test_the_same_key_with_a_different_body_is_422_and_writes_nothing(client_api, client_user):
    assert invite(client_api, key="k-2", scopes=["checkins"]).status_code == 201
    assert_error(invite(client_api, key="k-2", scopes=["summaries"]), 422, "idempotency_mismatch")
    assert ShareInvite.objects.filter(client=client_user).count() == 1
    record = IdempotencyRecord.objects.get(user=client_user, key="k-2")
    assert record.path == INVITES  # the stored answer is still the first request's


def test_the_same_key_on_another_endpoint_is_422(client_api):
    assert invite(client_api, key="k-3").status_code == 201
    assert_error(client_api.post("/api/v1/inbox/read-all", **{KEY: "k-3"}), 422, "idempotency_mismatch")


def test_keys_are_per_user(client_api, client_user, other_client_api, other_client):
    mine = invite(client_api, key="shared-key")
    theirs = invite(other_client_api, key="shared-key")
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert mine.json()["code"] != theirs.json()["code"]
    assert ShareInvite.objects.filter(client=client_user).count() == 1
    assert ShareInvite.objects.filter(client=other_client).count() == 1


def test_without_the_header_every_post_runs(client_api, client_user):
    assert invite(client_api).status_code == 201
    assert invite(client_api).status_code == 201
    assert ShareInvite.objects.filter(client=client_user).count() == 2
    assert not IdempotencyRecord.objects.exists()


def test_an_error_is_not_kept_so_the_fixed_request_can_reuse_the_key(client_api, therapist_api, therapist):
    code = invite(client_api).json()["code"]
    wrong = therapist_api.post(ACCEPT, {"code": "AAAA-BBBB-CC"}, format="json", **{KEY: "accept-1"})
    assert_error(wrong, 404, "invalid_code")
    assert not IdempotencyRecord.objects.exists()
    # Another body under the same key is fine after an error: nothing was kept for it.
    fixed = therapist_api.post(ACCEPT, {"code": code}, format="json", **{KEY: "accept-1"})
    assert fixed.status_code == 201
    # A lost answer is no problem: the retry replays the grant instead of "code already used".
    retry = therapist_api.post(ACCEPT, {"code": code}, format="json", **{KEY: "accept-1"})
    assert retry.status_code == 201 and retry.json() == fixed.json()
    assert ShareGrant.objects.filter(therapist=therapist).count() == 1


def test_a_view_error_keeps_no_key(other_client_api):
    # A client cannot accept (403): nothing is written either way, and no key is kept.
    assert_error(other_client_api.post(ACCEPT, {"code": "x"}, format="json", **{KEY: "a"}), 403)
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize(
    "bad_key",
    ["", "   ", "k" * 256, "tab\there", "naïve"],
    ids=["empty", "blank", "too-long", "control-char", "non-ascii"],
)
def test_an_invalid_key_is_400_and_runs_nothing(client_api, client_user, bad_key):
    response = client_api.post(INVITES, {"scopes": ["checkins"]}, format="json", **{KEY: bad_key})
    assert_error(response, 400, "validation_error", fields=["Idempotency-Key"])
    assert not ShareInvite.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_a_key_of_255_printable_characters_is_accepted(client_api):
    key = "k" * 254 + "~"
    assert invite(client_api, key=key).status_code == 201
    assert invite(client_api, key=key)["Idempotent-Replayed"] == "true"


def test_only_a_hash_of_the_request_and_an_encrypted_answer_are_stored(client_api, client_user):
    answer = invite(client_api, key="k-secret").json()
    with connection.cursor() as cursor:
        cursor.execute("SELECT request_hash, response_body FROM tracker_idempotencyrecord WHERE key = %s", ["k-secret"])
        request_hash, raw_body = cursor.fetchone()
    assert len(request_hash) == 64 and "checkins" not in request_hash
    assert answer["code"] not in raw_body  # the one-time code is not readable in the table
    assert IdempotencyRecord.objects.get(key="k-secret").response_status == 201


def test_a_record_expires_after_the_ttl_and_the_purge_job_deletes_it(client_api, client_user, settings):
    assert "tracker.common.idempotency.idempotency_purge_job" in settings.SCHEDULER_JOBS
    purge = import_string("tracker.common.idempotency.idempotency_purge_job")
    with time_machine.travel(T0, tick=False):
        first = invite(client_api, key="k-old").json()
    with time_machine.travel(T0 + timedelta(hours=23), tick=False):
        assert purge(now=T0 + timedelta(hours=23)) == 0
        assert invite(client_api, key="k-old").json() == first  # still replayed within 24 h
    with time_machine.travel(T0 + timedelta(hours=24, minutes=1), tick=False):
        assert purge(now=T0 + timedelta(hours=24, minutes=1)) == 1
        assert not IdempotencyRecord.objects.exists()
        fresh = invite(client_api, key="k-old")
    assert fresh.status_code == 201 and fresh.json()["code"] != first["code"]
    assert ShareInvite.objects.filter(client=client_user).count() == 2


def test_an_expired_record_not_yet_purged_is_ignored(client_api, client_user):
    with time_machine.travel(T0, tick=False):
        first = invite(client_api, key="k-stale").json()
    with time_machine.travel(T0 + timedelta(hours=25), tick=False):
        # Even with another body: an expired key is free again.
        again = invite(client_api, key="k-stale", scopes=["summaries"])
    assert again.status_code == 201 and again.json()["code"] != first["code"]
    assert IdempotencyRecord.objects.get(key="k-stale").created_at == T0 + timedelta(hours=25)


def test_the_purge_deletes_in_set_based_chunks(monkeypatch, django_assert_max_num_queries):
    users = UserFactory.create_batch(2)
    for n in range(7):
        IdempotencyRecord.objects.create(
            user=users[n % 2], key=f"k{n}", method="POST", path="/x", request_hash="0" * 64, created_at=T0
        )
    live = IdempotencyRecord.objects.create(
        user=users[0], key="live", method="POST", path="/x", request_hash="0" * 64, created_at=T0 + timedelta(hours=2)
    )
    monkeypatch.setattr(idempotency, "PURGE_CHUNK", 3)
    with django_assert_max_num_queries(3):  # 3 + 3 + 1 rows: one DELETE each, no row-by-row work
        assert idempotency.idempotency_purge_job(now=T0 + timedelta(hours=24, minutes=30)) == 7
    assert list(IdempotencyRecord.objects.all()) == [live]


def test_every_idempotent_post_documents_the_header_and_the_422(tmp_path):
    decorated = {
        route
        for route, view in api_routes()
        if getattr(getattr(getattr(view, "cls", None), "post", None), "idempotent", False)
    }
    assert decorated == IDEMPOTENT_ROUTES

    out = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(out))
    paths = yaml.safe_load(out.read_text())["paths"]
    for route in IDEMPOTENT_ROUTES:
        spec_path = "/api/v1/" + route.replace("<anyuuid:client_id>", "{client_id}").replace("<anyuuid:pk>", "{id}")
        operation = paths[spec_path]["post"]
        headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
        assert headers == ["Idempotency-Key"], route
        assert {"400", "422"} <= set(operation["responses"]), route


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, available_apps=list(django_settings.INSTALLED_APPS))
def test_concurrent_duplicates_wait_for_the_first_and_replay_it(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs a database that serves concurrent connections (PostgreSQL)")
    from tracker.sharing import services as sharing

    real_create = sharing.invite_create

    def slow_create(**kwargs):
        time.sleep(0.3)  # hold the claim long enough that every duplicate is already waiting on it
        return real_create(**kwargs)

    monkeypatch.setattr(sharing, "invite_create", slow_create)
    user = UserFactory()
    apis = [api_for(user, f"device-{n}") for n in range(4)]
    key = str(uuid.uuid4())
    answers = at_once(lambda api: invite(api, key=key), apis)
    assert [a.status_code for a in answers] == [201] * 4
    assert sum(a.get("Idempotent-Replayed") == "true" for a in answers) == 3
    assert len({a.json()["code"] for a in answers}) == 1
    assert ShareInvite.objects.filter(client=user).count() == 1


def test_logout_with_a_key_stores_the_204_and_a_retry_on_the_revoked_token_is_401(client_user):
    phone, tablet = api_for(client_user, "phone"), api_for(client_user, "tablet")
    assert phone.post("/api/v1/auth/logout", **{KEY: "bye"}).status_code == 204
    record = IdempotencyRecord.objects.get(user=client_user, key="bye")
    assert (record.response_status, record.response_body) == (204, "")
    # The token is gone, so the retry is refused before any replay; another device's key space is the user's.
    assert_error(phone.post("/api/v1/auth/logout", **{KEY: "bye"}), 401)
    assert_error(tablet.post("/api/v1/auth/logout-all", **{KEY: "bye"}), 422, "idempotency_mismatch")
