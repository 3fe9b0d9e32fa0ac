"""Data rights: `GET /me/export` (access) and `DELETE /me` (erasure)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Group, Permission
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.models import Delivery, DeliveryAttempt, Dispatch, InboxItem
from notifications.services.devices import device_register
from notifications.services.ledger import DeliveryDraft, deliveries_record
from tests.conftest import api_for
from tests.entries.entry_factories import make_checkin
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpers import assert_error
from tests.notifications.factories import make_schedule, make_summary
from tests.sharing.factories import RegulationLogFactory
from tracker.alerts.services import alert_acknowledge, alerts_evaluate_job
from tracker.common.idempotency import idempotency_claim, idempotency_store, request_fingerprint
from tracker.entries.services.checkins import checkin_delete
from tracker.models import AccessLogEntry, Alert, CheckIn, ShareGrant, User
from tracker.sharing.services import access_log_write, invite_accept, invite_create, session_mark

pytestmark = pytest.mark.django_db

EXPORT = "/api/v1/me/export"
ME = "/api/v1/me"
PUSH_TOKEN_TAIL = "Zq7xW2"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Many accounts per test; the production hasher's cost is not what these tests are about.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _share(client: User, therapist: User) -> ShareGrant:
    created = invite_create(client=client, scopes=["checkins", "regulation_logs", "notes", "summaries"])
    return invite_accept(therapist=therapist, code=created.code, ip="127.0.0.1")


def populate(user: User, *, therapist: User, size: int = 1, tag: str = "") -> ShareGrant:
    """Every kind of record a client can have, `size` of each list, through the real services."""
    now = timezone.now()
    for n in range(size):
        make_checkin(user, occurred_at=now - timedelta(days=n, hours=1), note=f"{tag}check-in note {n}")
        RegulationLogFactory(user=user, occurred_at=now - timedelta(days=n, hours=2), note=f"{tag}log note {n}")
        make_summary(user, week_start=(now - timedelta(weeks=n + 1)).date(), payload={"checkins": n})
        device_register(user=user, platform="android", token=f"{tag}{uuid.uuid4().hex}{n:04d}{PUSH_TOKEN_TAIL}")
    make_schedule(user, times=["09:00", "20:30"])
    won = deliveries_record(
        drafts=[
            DeliveryDraft(
                user_id=user.pk,
                kind=Delivery.Kind.NUDGE,
                slot=now - timedelta(hours=n + 1),
                status=Delivery.Status.SENT,
                title="Time for a check-in",
                body="How are you today?",
                channels=("inbox", "push"),
            )
            for n in range(size)
        ],
        now=now,
    )
    assert len(won) == size
    # One push attempt logged per delivery, as the transport would.
    for dispatch in Dispatch.objects.filter(delivery_id__in=won.values()):
        DeliveryAttempt.objects.create(dispatch=dispatch, channel="push", status="ok", duration_ms=5, attempted_at=now)
    grant = _share(user, therapist)
    invite_create(client=user, scopes=["checkins"])  # an invite not used yet
    session_mark(grant=grant)
    # Evaluated as if the client went quiet for longer than the no-check-in rule allows, the real job
    # raises an alert; the therapist acknowledges it.
    alerts_evaluate_job(now=timezone.now() + timedelta(days=settings.ALERT_NO_CHECKIN_DAYS + 1))
    for alert in Alert.objects.filter(grant=grant):
        alert_acknowledge(alert=alert, by=therapist)
    for _ in range(size):
        access_log_write(grants=[grant], resource="checkins", channel="api")
    # A remembered answer to a POST sent with an Idempotency-Key.
    claim = idempotency_claim(
        user=user, key=f"{tag}retry-key", method="POST", path="/api/v1/devices/", request_hash=request_fingerprint({})
    )
    idempotency_store(record=claim.record, status=201, body_json="{}")
    return grant


# --- export ------------------------------------------------------------------------------------------


def test_export_holds_every_kind_of_record_of_the_user_and_nobody_elses(
    client_user, client_api, therapist, other_client, other_therapist
):
    grant = populate(client_user, therapist=therapist, size=2)
    populate(other_client, therapist=other_therapist, size=1, tag="OTHER ")
    gone = make_checkin(client_user, note="regretted")
    checkin_delete(user=client_user, checkin=gone)

    response = client_api.get(EXPORT)
    assert response.status_code == 200, response.content
    doc = response.json()

    assert doc["format_version"] == 1
    assert doc["deleted_records_excluded"] is True
    assert abs(timezone.datetime.fromisoformat(doc["exported_at"]) - timezone.now()) < timedelta(minutes=1)
    assert doc["profile"]["id"] == str(client_user.pk) and doc["profile"]["email"] == client_user.email
    assert doc["profile"]["timezone"] == "Europe/Berlin"

    # Check-ins: decrypted notes and scores; the tombstone is not there.
    assert sorted(c["note"] for c in doc["checkins"]) == ["check-in note 0", "check-in note 1"]
    assert str(gone.pk) not in {c["id"] for c in doc["checkins"]}
    stored = CheckIn.objects.get(pk=doc["checkins"][0]["id"])
    assert doc["checkins"][0]["scores"]["anxiety"] == stored.anxiety
    assert doc["checkins"][0]["scores"]["quadrant"] == stored.quadrant
    assert sorted(r["note"] for r in doc["regulation_logs"]) == ["log note 0", "log note 1"]
    assert len(doc["weekly_summaries"]) == 2
    assert doc["reminder_schedule"]["times"] == ["09:00", "20:30"]
    assert doc["reminder_schedule"]["timezone"] == "Europe/Berlin"
    assert len(doc["inbox"]) == 2 and {i["title"] for i in doc["inbox"]} == {"Time for a check-in"}
    assert len(doc["deliveries"]) == 2 and {d["status"] for d in doc["deliveries"]} == {"sent"}
    assert [t["device_name"] for t in doc["login_tokens"]] == ["test-device"]

    # Devices: recognisable, but the push token itself never leaves the server.
    assert len(doc["devices"]) == 2
    for device in doc["devices"]:
        assert device["token"] == "…" + PUSH_TOKEN_TAIL
    assert PUSH_TOKEN_TAIL * 2 not in response.content.decode()
    full_tokens = list(client_user.push_devices.values_list("token", flat=True))
    assert not any(token in response.content.decode() for token in full_tokens)

    # Sharing: the grant, the unused invite, the session and every read of their data.
    assert [(g["id"], g["therapist"]["id"]) for g in doc["shares_given"]] == [(str(grant.pk), str(therapist.pk))]
    assert doc["shares_held"] == []
    assert len(doc["share_invites"]) == 2 and sum(i["used_at"] is None for i in doc["share_invites"]) == 1
    assert [s["grant"] for s in doc["therapy_sessions"]] == [str(grant.pk)]
    assert len(doc["access_log"]) == 2
    assert {(e["client"]["id"], e["therapist"]["id"]) for e in doc["access_log"]} == {
        (str(client_user.pk), str(therapist.pk))
    }

    # Nothing of the other client's.
    body = response.content.decode()
    assert "OTHER" not in body
    assert str(other_client.pk) not in body and other_client.email not in body


def test_a_therapists_export_shows_the_shares_they_hold_and_their_reads(client_user, therapist, therapist_api):
    grant = populate(client_user, therapist=therapist)
    doc = therapist_api.get(EXPORT).json()
    assert [(g["id"], g["client"]["id"], g["status"]) for g in doc["shares_held"]] == [
        (str(grant.pk), str(client_user.pk), "active")
    ]
    assert doc["shares_given"] == [] and doc["checkins"] == []
    assert len(doc["access_log"]) == 1 and len(doc["therapy_sessions"]) == 1


def test_export_of_a_new_user_is_complete_and_empty(client_api, client_user):
    doc = client_api.get(EXPORT).json()
    assert doc["reminder_schedule"] is None
    for key in ("checkins", "regulation_logs", "weekly_summaries", "devices", "inbox", "shares_given", "access_log"):
        assert doc[key] == [], key


@pytest.mark.parametrize("size", [2, 25])
def test_export_takes_a_constant_number_of_queries(size, therapist, django_assert_max_num_queries):
    user = UserFactory()
    populate(user, therapist=therapist, size=size)
    api = api_for(user)
    # Token auth (2) + one query per kind of record (13), at 2 and at 25 of each.
    with django_assert_max_num_queries(15):
        doc = api.get(EXPORT).json()
    assert len(doc["checkins"]) == size and len(doc["access_log"]) == size and len(doc["inbox"]) == size


def test_export_is_rate_limited(client_api):
    for _ in range(10):
        assert client_api.get(EXPORT).status_code == 200
    response = client_api.get(EXPORT)
    assert_error(response, 429)
    assert int(response["Retry-After"]) > 0


def test_export_needs_a_token(anon_api):
    assert_error(anon_api.get(EXPORT), 401)


# --- erasure -------------------------------------------------------------------------------------


def user_foreign_keys() -> list[tuple[type[models.Model], models.Field]]:
    """Every (model, field) pointing at the user, framework tables (groups, admin log) included."""
    return [
        (model, field)
        for model in apps.get_models(include_auto_created=True)
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is User
    ]


def rows_per_key(user_id) -> dict[str, int]:
    return {
        f"{model._meta.label}.{field.name}": model._base_manager.filter(**{field.attname: user_id}).count()
        for model, field in user_foreign_keys()
    }


THERAPIST_SIDE = {
    "tracker.Alert.therapist",
    "tracker.Alert.acknowledged_by",
    "tracker.ShareGrant.therapist",
    "tracker.TherapySession.therapist",
    "tracker.AccessLogEntry.therapist",
    # Clinics and the second factor are for therapists and clinic admins, never a client.
    "tracker.ClinicMembership.user",
    "otp_totp.TOTPDevice.user",
    "otp_static.StaticDevice.user",
}
# Who verified a licence or sent an invitation: a pointer on someone else's row. Erasing that admin
# must not erase the therapist's membership, so it is nulled (which never blocks an erasure).
NULLED_ON_ERASURE = {"tracker.ClinicMembership.licence_verified_by", "tracker.ClinicInvitation.invited_by"}
ADMIN_SIDE = NULLED_ON_ERASURE


def test_every_reference_to_a_user_cascades():
    """Adding a model whose user FK does not cascade must fail here, not silently block erasure."""
    pairs = user_foreign_keys()
    assert len(pairs) >= 15
    for model, field in pairs:
        label = f"{model._meta.label}.{field.name}"
        expected = models.SET_NULL if label in NULLED_ON_ERASURE else models.CASCADE
        assert field.remote_field.on_delete is expected, label


def _with_framework_rows(user: User) -> None:
    """Rows in Django's own tables that point at a user (groups, permissions, admin history)."""
    user.groups.add(Group.objects.create(name=f"group-{user.pk}"))
    user.user_permissions.add(Permission.objects.first())
    LogEntry.objects.log_actions(user_id=user.pk, queryset=[user], action_flag=ADDITION, change_message="test")


def test_erasure_removes_every_row_of_the_user_and_nothing_else(
    client_user, client_api, therapist, therapist_api, other_client
):
    populate(client_user, therapist=therapist, size=2)
    populate(other_client, therapist=therapist, size=2)
    _with_framework_rows(client_user)
    _with_framework_rows(other_client)
    api_for(client_user, device_name="second phone")
    delivery_ids = list(Delivery.objects.filter(user=client_user).values_list("pk", flat=True))

    clients = therapist_api.get("/api/v1/clients/").json()["results"]
    assert str(client_user.pk) in {c["client"]["id"] for c in clients}

    before = rows_per_key(client_user.pk)
    # The data covers every model that points at a user (a new model needs rows here too), except
    # the therapist's side of sharing, which a client does not have (see the therapist test).
    missing = {key for key, count in before.items() if not count}
    assert missing == THERAPIST_SIDE | ADMIN_SIDE, missing
    others_before = rows_per_key(other_client.pk)
    therapist_before = rows_per_key(therapist.pk)

    response = client_api.delete(ME, {"password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 204, response.content

    assert not User.objects.filter(pk=client_user.pk).exists()
    assert rows_per_key(client_user.pk) == dict.fromkeys(before, 0)
    assert not Dispatch.objects.filter(delivery_id__in=delivery_ids).exists()
    assert not DeliveryAttempt.objects.filter(dispatch__delivery_id__in=delivery_ids).exists()
    # The other client's rows are all still there; the therapist lost only what was about this client.
    assert rows_per_key(other_client.pk) == others_before
    therapist_after = rows_per_key(therapist.pk)
    assert therapist_after["tracker.ShareGrant.therapist"] == therapist_before["tracker.ShareGrant.therapist"] - 1
    assert therapist_after["tracker.DeviceToken.user"] == therapist_before["tracker.DeviceToken.user"]

    assert_error(client_api.get(ME), 401)  # every token of theirs is gone
    clients = therapist_api.get("/api/v1/clients/").json()["results"]
    assert [c["client"]["id"] for c in clients] == [str(other_client.pk)]


@pytest.mark.parametrize(
    ("body", "field"), [({}, "password"), ({"password": "not-my-password"}, "password"), ({"password": ""}, "password")]
)
def test_erasure_needs_the_current_password(client_user, client_api, therapist, body, field):
    populate(client_user, therapist=therapist)
    before = rows_per_key(client_user.pk)
    assert_error(client_api.delete(ME, body, format="json"), 400, "validation_error", fields=[field])
    assert rows_per_key(client_user.pk) == before
    assert client_api.get(ME).status_code == 200


def test_guessing_the_password_through_erasure_locks_like_login(client_user, client_api, settings, anon_api):
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert_error(client_api.delete(ME, {"password": "guess-guess-1"}, format="json"), 400, fields=["password"])
    locked = client_api.delete(ME, {"password": "guess-guess-2"}, format="json")
    assert_error(locked, 429, "account_locked")
    assert int(locked["Retry-After"]) > 0
    # Locked means locked: even the right password neither erases nor logs in until it expires.
    assert_error(client_api.delete(ME, {"password": DEFAULT_PASSWORD}, format="json"), 429)
    assert User.objects.filter(pk=client_user.pk).exists()
    login = anon_api.post("/api/v1/auth/login", {"email": client_user.email, "password": DEFAULT_PASSWORD})
    assert_error(login, 429, "account_locked")


def test_a_therapist_erasing_their_account_ends_the_grants_they_hold(client_user, client_api, therapist, therapist_api):
    grant = populate(client_user, therapist=therapist)
    before = rows_per_key(therapist.pk)
    assert all(before[key] for key in THERAPIST_SIDE), before
    assert therapist_api.delete(ME, {"password": DEFAULT_PASSWORD}, format="json").status_code == 204
    assert rows_per_key(therapist.pk) == dict.fromkeys(before, 0)
    assert not ShareGrant.objects.filter(pk=grant.pk).exists()
    assert not AccessLogEntry.objects.filter(grant_id=grant.pk).exists()
    assert client_api.get("/api/v1/shares/").json()["results"] == []
    # The client's own data is theirs and stays.
    assert CheckIn.objects.filter(user=client_user).count() == 1
    assert InboxItem.objects.filter(user=client_user).count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks (immediate transactions)")
def test_erasure_locks_the_user_row_before_deleting_anything(client_user, therapist):
    from tracker.data_rights.services import user_erase

    populate(client_user, therapist=therapist)
    with CaptureQueriesContext(connection) as queries:
        user_erase(user=client_user, password=DEFAULT_PASSWORD)
    statements = [q["sql"] for q in queries.captured_queries]
    lock = next(i for i, sql in enumerate(statements) if "FOR UPDATE" in sql)
    assert 'FROM "tracker_user"' in statements[lock]
    first_write = next(i for i, sql in enumerate(statements) if sql.startswith(("DELETE", "UPDATE")))
    assert lock < first_write


def test_erasing_a_clinic_admin_keeps_the_therapists_they_verified(therapist):
    from tests.factories import ClinicAdminFactory
    from tracker.clinics.services import invitation_create, licence_record, licence_verify
    from tracker.data_rights.services import user_erase
    from tracker.models import ClinicInvitation, ClinicMembership

    admin = ClinicAdminFactory()
    membership = ClinicMembership.objects.create(clinic=admin.clinic, user=therapist, role="therapist")
    licence_record(membership=membership, number="L", jurisdiction="DE", expires_on=date(2099, 1, 1))
    licence_verify(membership=membership, by=admin)
    invitation_create(clinic=admin.clinic, by=admin, email="new@example.test")
    assert all(rows_per_key(admin.pk)[key] for key in ADMIN_SIDE)
    user_erase(user=admin, password=DEFAULT_PASSWORD)
    membership.refresh_from_db()
    assert membership.licence_verified_by is None and membership.licence_verified_at is not None
    assert ClinicInvitation.objects.get().invited_by is None
    assert User.objects.get(pk=therapist.pk).is_verified_therapist
