"""Issue 14's optimised paths against the implementations they replace, on the same data.

- creates: `INSERT … ON CONFLICT DO NOTHING RETURNING` then a select of the conflicts (PostgreSQL's path)
  vs select, insert, re-select (the SQLite path and the former PostgreSQL one): same outcomes, same rows;
- authentication: one SELECT by digest vs knox's prefix scan: same user for every token, same refusals;
- one reused serializer per batch vs a fresh serializer per item: same validated data, same errors;
- the per-process instrument catalogue vs a fresh load: same content, no query when warm, cleared on change."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.auth import TokenAuthentication
from rest_framework import exceptions, serializers

from tests.entries.entry_factories import checkin_body, make_checkin, wmc_responses
from tests.entries.test_regulation_api import log_body
from tracker.accounts.api.authentication import TokenOrBearerAuthentication
from tracker.accounts.services import tokens_purge_job
from tracker.common.api.reuse import reusable
from tracker.entries.api.sync import SyncItemSerializer
from tracker.entries.selectors.instruments import instrument_catalog, instrument_catalog_load
from tracker.entries.serializers.checkins import CheckInWriteSerializer
from tracker.entries.serializers.regulation import RegulationLogWriteSerializer
from tracker.entries.services import entries as entries_services
from tracker.entries.services.checkins import CheckInKind, checkin_values
from tracker.entries.services.entries import EntryWrite, entries_apply
from tracker.models import CheckIn, DeviceToken, Instrument

pytestmark = pytest.mark.django_db

COMPARED = ("id", "user_id", "instrument_id", "occurred_at", "responses", "note", "anxiety", "avoidance", "quadrant")


class _Rollback(Exception):
    pass


def _values(answers=None, note="", hours=1):
    return checkin_values(
        instrument=Instrument.objects.get(code="wmc", is_default=True),
        occurred_at=timezone.now().replace(microsecond=0) - timedelta(hours=hours),
        utc_offset_minutes=60,
        responses=wmc_responses(answers),
        note=note,
    )


def _apply_and_capture(monkeypatch, insert_first: bool, user, writes):
    """Outcomes and resulting rows of one `entries_apply`, rolled back afterwards."""
    vendors = frozenset({connection.vendor}) if insert_first else frozenset()
    monkeypatch.setattr(entries_services, "INSERT_FIRST_VENDORS", vendors)
    captured = {}
    try:
        with transaction.atomic():
            outcomes = entries_apply(user=user, writes=writes)
            captured["outcomes"] = [
                (o.id, o.status, o.error.code if o.error else None, o.row.id if o.row is not None else None)
                for o in outcomes
            ]
            ids = [w.id for w in writes]
            captured["rows"] = sorted(CheckIn.objects.filter(id__in=ids).values_list(*COMPARED))
            raise _Rollback
    except _Rollback:
        pass
    return captured


def test_insert_first_gives_the_same_outcomes_and_rows_as_select_first(monkeypatch, client_user, other_client):
    mine = make_checkin(client_user, note="kept")
    editable = make_checkin(client_user, note="before")
    deleted = make_checkin(client_user)
    entries_apply(user=client_user, writes=[EntryWrite(CheckInKind, "delete", deleted.id)])
    theirs = make_checkin(other_client)
    same = {
        "instrument": mine.instrument,
        "occurred_at": mine.occurred_at,
        "utc_offset_minutes": mine.utc_offset_minutes,
        "responses": mine.responses,
        "note": "kept",
    }
    writes = [
        EntryWrite(CheckInKind, "create", uuid.uuid4(), _values(note="new one")),
        EntryWrite(CheckInKind, "create", mine.id, checkin_values(**same)),  # a retry: unchanged
        EntryWrite(CheckInKind, "create", uuid.uuid4(), _values({1: 1, 2: 7, 3: 1, 4: 7, 5: 1, 6: 7, 7: 1, 8: 7})),
        EntryWrite(CheckInKind, "create", theirs.id, _values()),  # another user's id: conflict, nothing shown
        EntryWrite(CheckInKind, "create", deleted.id, _values()),  # a tombstone: conflict "deleted"
        EntryWrite(
            CheckInKind,
            "update",
            editable.id,
            checkin_values(**{**same, "occurred_at": editable.occurred_at, "note": "edited"}),
        ),
    ]
    old = _apply_and_capture(monkeypatch, False, client_user, writes)
    new = _apply_and_capture(monkeypatch, True, client_user, writes)
    assert new == old
    statuses = [status for _, status, _, _ in old["outcomes"]]
    assert statuses == ["created", "unchanged", "created", "conflict", "conflict", "updated"]


def test_insert_first_create_costs_two_statements(monkeypatch, client_user):
    """Change counter + INSERT … RETURNING: no select before or after a fresh create."""
    monkeypatch.setattr(entries_services, "INSERT_FIRST_VENDORS", frozenset({connection.vendor}))
    write = EntryWrite(CheckInKind, "create", uuid.uuid4(), _values())
    with CaptureQueriesContext(connection) as queries:
        (outcome,) = entries_apply(user=client_user, writes=[write])
    assert outcome.status == "created"
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 2, statements
    assert "RETURNING" in statements[1]


# --- authentication --------------------------------------------------------------------------------
def _knox(token: str):
    return TokenAuthentication().authenticate_credentials(token.encode())


def _ours(token: str):
    return TokenOrBearerAuthentication().authenticate_credentials(token.encode())


def test_digest_lookup_accepts_and_refuses_what_knox_does(client_user, other_client):
    _, live = DeviceToken.objects.create(user=client_user, expiry=timedelta(days=1))
    _, other_live = DeviceToken.objects.create(user=other_client, expiry=timedelta(days=1))
    _, no_expiry = DeviceToken.objects.create(user=client_user, expiry=None)
    for token in (live, other_live, no_expiry):
        assert _ours(token)[0] == _knox(token)[0]
        assert _ours(token)[1].pk == _knox(token)[1].pk

    stale, expired = DeviceToken.objects.create(user=client_user, expiry=timedelta(days=1))
    DeviceToken.objects.filter(pk=stale.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    wrong = live[:-4] + ("0000" if not live.endswith("0000") else "1111")
    for token in (expired, wrong, "not-hex", ""):
        with pytest.raises(exceptions.AuthenticationFailed):
            _ours(token)
        with pytest.raises(exceptions.AuthenticationFailed):
            _knox(token)

    client_user.is_active = False
    client_user.save(update_fields=["is_active"])
    with pytest.raises(exceptions.AuthenticationFailed):
        _ours(live)


def test_authentication_is_one_query(client_user):
    _, token = DeviceToken.objects.create(user=client_user, expiry=timedelta(days=1))
    with CaptureQueriesContext(connection) as queries:
        user, _ = _ours(token)
    assert user == client_user
    assert len(queries.captured_queries) == 1


def test_tokens_purge_job_deletes_only_expired_tokens(client_user):
    now = timezone.now()
    DeviceToken.objects.create(user=client_user, expiry=timedelta(days=1))
    DeviceToken.objects.create(user=client_user, expiry=None)
    stale, _ = DeviceToken.objects.create(user=client_user, expiry=timedelta(days=1))
    DeviceToken.objects.filter(pk=stale.pk).update(expiry=now - timedelta(minutes=1))
    assert tokens_purge_job(now=now) == 1
    assert DeviceToken.objects.filter(user=client_user).count() == 2


# --- one serializer per batch ----------------------------------------------------------------------
def _fresh(serializer_class, data, context=None):
    serializer = serializer_class(data=data, context=context or {})
    try:
        serializer.is_valid(raise_exception=True)
    except serializers.ValidationError as exc:
        return ("error", exc.detail)
    return ("ok", dict(serializer.validated_data))


def _reused(serializer_class, data, context=None):
    try:
        return ("ok", reusable(serializer_class).validate(data, context=context))
    except serializers.ValidationError as exc:
        return ("error", exc.detail)


def test_a_reused_serializer_validates_like_a_fresh_one(db):
    catalog = instrument_catalog()
    checkins = [
        checkin_body(),
        checkin_body(responses=[{"item": 1, "value": "x"}]),
        checkin_body(instrument="nope"),
        checkin_body(note=None),
        checkin_body(instrument_version=99),
        checkin_body(responses=[]),
        checkin_body(),
    ]
    for body in checkins:  # interleaved valid and invalid: no state may leak between items
        assert _reused(CheckInWriteSerializer, body, {"catalog": catalog}) == _fresh(
            CheckInWriteSerializer, body, {"catalog": catalog}
        )
    for body in [log_body(), log_body(intensity_before=99), log_body(emotions="x"), log_body()]:
        assert _reused(RegulationLogWriteSerializer, body) == _fresh(RegulationLogWriteSerializer, body)
    items = [
        {"type": "checkin", "op": "create", "id": str(uuid.uuid4()), "record": {}},
        {"type": "checkin", "op": "create", "id": "nope"},
        {"type": "bogus", "op": "delete", "id": str(uuid.uuid4())},
        {"type": "checkin", "op": "update", "id": str(uuid.uuid4()), "base_revision": 0, "record": {}},
        {"type": "checkin", "op": "delete", "id": str(uuid.uuid4())},
    ]
    for item in items:
        assert _reused(SyncItemSerializer, item) == _fresh(SyncItemSerializer, item)


# --- the instrument catalogue ----------------------------------------------------------------------
def _catalog_view(catalog):
    return (
        {key: i.pk for key, i in catalog.by_version.items()},
        {code: i.pk for code, i in catalog.latest.items()},
        catalog.default.pk if catalog.default else None,
    )


def test_the_cached_catalogue_equals_a_fresh_load_and_follows_changes(django_assert_num_queries):
    assert _catalog_view(instrument_catalog()) == _catalog_view(instrument_catalog_load())
    with django_assert_num_queries(0):
        instrument_catalog()
    wmc = Instrument.objects.filter(code="wmc").order_by("-version").first()
    newer = Instrument.objects.create(
        code="wmc", version=wmc.version + 1, title=wmc.title, definition=wmc.definition, is_default=False
    )
    assert instrument_catalog().latest["wmc"].pk == newer.pk
    assert _catalog_view(instrument_catalog()) == _catalog_view(instrument_catalog_load())
