"""`/api/v1/sync/`: the ordered change feed with tombstones, and batch upload with per-item results."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import api_for
from tests.entries.entry_factories import checkin_body, make_checkin, wmc_responses
from tests.helpers import assert_error, at_once
from tracker.models import CheckIn

pytestmark = pytest.mark.django_db

SYNC = "/api/v1/sync/"
TRANSACTIONAL_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.admin",
    "knox",
    "tracker",
    "notifications",
]


def record(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "id"}


def create_item(body: dict) -> dict:
    return {"type": "checkin", "op": "create", "id": body["id"], "record": record(body)}


def pull_all(api, cursor=None, limit=200) -> tuple[list[dict], str]:
    changes = []
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = api.get(SYNC, params)
        assert response.status_code == 200, response.content
        page = response.json()
        changes += page["changes"]
        cursor = page["cursor"]
        if not page["has_more"]:
            return changes, cursor


def test_feed_lists_every_change_in_order_with_tombstones(client_api, client_user, other_client):
    first, second, third = (make_checkin(client_user, note=f"n{i}") for i in range(3))
    make_checkin(other_client)
    changes, cursor = pull_all(client_api, limit=2)
    assert [c["id"] for c in changes] == [str(first.id), str(second.id), str(third.id)]
    assert all(c["op"] == "upsert" and c["type"] == "checkin" for c in changes)
    assert changes[0]["record"]["note"] == "n0" and changes[0]["record"]["scores"]["anxiety"] == 5.5

    # Nothing new: an empty page and the same position.
    assert pull_all(client_api, cursor) == ([], cursor)

    client_api.patch(f"/api/v1/checkins/{first.id}/", {"note": "edited"}, format="json")
    client_api.delete(f"/api/v1/checkins/{second.id}/")
    changes, cursor = pull_all(client_api, cursor)
    assert [(c["id"], c["op"]) for c in changes] == [(str(first.id), "upsert"), (str(second.id), "delete")]
    assert changes[0]["record"]["note"] == "edited" and changes[0]["revision"] == 2
    assert changes[1]["record"] is None and changes[1]["deleted_at"]


def test_bad_cursors_are_404_and_a_bad_limit_is_400(client_api, client_user, other_client_api, other_client):
    for _ in range(3):
        make_checkin(client_user)
    _, cursor = pull_all(client_api)
    assert_error(client_api.get(SYNC, {"cursor": "garbage!"}), 404, "invalid_cursor")
    # A cursor from a busier account is ahead of this one's feed.
    assert_error(other_client_api.get(SYNC, {"cursor": cursor}), 404, "invalid_cursor")
    assert_error(client_api.get(SYNC, {"limit": 0}), 400, fields=["limit"])


def test_batch_answers_per_item_and_stores_the_valid_ones(client_api, client_user):
    good = checkin_body()
    bad_range = checkin_body(responses=wmc_responses({**dict.fromkeys(range(1, 9), 4), 2: 9}))
    unknown = checkin_body(instrument="nope")
    future = checkin_body(occurred_at="2999-01-01T00:00:00+00:00")
    items = [
        create_item(good),
        create_item(bad_range),
        create_item(unknown),
        create_item(future),
        {"type": "mood", "op": "create", "id": str(uuid.uuid4()), "record": {}},
        {"type": "checkin", "op": "create", "id": "nope"},
        "not an object",
        create_item(good),  # the same id twice in one batch
    ]
    response = client_api.post(SYNC, {"items": items}, format="json")
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created"] + ["invalid"] * 7
    assert results[0] == {"type": "checkin", "id": good["id"], "status": "created", "revision": 1}
    assert "responses" in results[1]["error"]["fields"]
    assert "instrument" in results[2]["error"]["fields"]
    assert "occurred_at" in results[3]["error"]["fields"]
    assert "type" in results[4]["error"]["fields"]
    assert "id" in results[5]["error"]["fields"]
    assert results[7]["error"]["code"] == "duplicate_item"
    assert list(CheckIn.objects.values_list("id", flat=True)) == [uuid.UUID(good["id"])]


def test_batch_retries_updates_conflicts_and_deletes(client_api, client_user, other_client):
    body = checkin_body()
    mine_elsewhere = make_checkin(client_user)
    theirs = make_checkin(other_client)
    assert (
        client_api.post(SYNC, {"items": [create_item(body)]}, format="json").json()["results"][0]["status"] == "created"
    )

    changed = {**body, "note": "changed offline"}
    items = [
        create_item(body),  # a retry
        {"type": "checkin", "op": "update", "id": body["id"], "base_revision": 1, "record": record(changed)},
        {
            "type": "checkin",
            "op": "update",
            "id": str(mine_elsewhere.id),
            "base_revision": 3,
            "record": record(changed),
        },
        {"type": "checkin", "op": "update", "id": str(theirs.id), "record": record(changed)},
        {"type": "checkin", "op": "delete", "id": str(uuid.uuid4())},
    ]
    response = client_api.post(SYNC, {"items": items}, format="json")
    results = response.json()["results"]
    # A create and an update of one id in one batch is two items with one id: the second is refused.
    assert [r["status"] for r in results] == ["unchanged", "invalid", "conflict", "invalid", "invalid"]
    assert results[1]["error"]["code"] == "duplicate_item"
    assert results[2]["error"]["code"] == "stale_revision"
    assert results[2]["current"]["record"]["id"] == str(mine_elsewhere.id)  # the server's state to apply
    assert [r["error"]["code"] for r in results[3:]] == ["not_found"] * 2
    delete_theirs = {"type": "checkin", "op": "delete", "id": str(theirs.id)}
    result = client_api.post(SYNC, {"items": [delete_theirs]}, format="json").json()["results"][0]
    assert (result["status"], result["error"]["code"]) == ("invalid", "not_found")
    assert CheckIn.objects.get(id=theirs.id).deleted_at is None

    update = {"type": "checkin", "op": "update", "id": body["id"], "base_revision": 1, "record": record(changed)}
    results = client_api.post(SYNC, {"items": [update]}, format="json").json()["results"]
    assert results[0] == {"type": "checkin", "id": body["id"], "status": "updated", "revision": 2}
    # The same update again is recognised as already applied, a different one on the old base conflicts.
    assert client_api.post(SYNC, {"items": [update]}, format="json").json()["results"][0]["status"] == "unchanged"
    stale = {**update, "record": record({**body, "note": "third"})}
    conflict = client_api.post(SYNC, {"items": [stale]}, format="json").json()["results"][0]
    assert conflict["status"] == "conflict" and conflict["current"]["record"]["note"] == "changed offline"

    delete = {"type": "checkin", "op": "delete", "id": body["id"]}
    assert client_api.post(SYNC, {"items": [delete]}, format="json").json()["results"][0]["status"] == "deleted"
    assert client_api.post(SYNC, {"items": [delete]}, format="json").json()["results"][0]["status"] == "unchanged"
    recreate = client_api.post(SYNC, {"items": [create_item(body)]}, format="json").json()["results"][0]
    assert recreate["status"] == "conflict" and recreate["current"]["op"] == "delete"
    assert CheckIn.objects.get(id=body["id"]).deleted_at is not None


def test_malformed_and_oversized_batches_store_nothing(client_api):
    assert_error(client_api.post(SYNC, {"items": "x"}, format="json"), 400, fields=["items"])
    assert_error(client_api.post(SYNC, [], format="json"), 400, fields=["items"])
    items = [create_item(checkin_body()) for _ in range(501)]
    assert_error(client_api.post(SYNC, {"items": items}, format="json"), 413, "batch_too_large")
    assert CheckIn.objects.count() == 0


def test_batch_of_500_uses_a_bounded_number_of_queries(client_api, django_assert_max_num_queries):
    """Measured (inside the test transaction, token lookup included): 5 or 500 creates = 9 queries on
    PostgreSQL; 9 and 18 on SQLite, whose bulk INSERT is split at 999 parameters."""
    counts = {}
    for size in (5, 500):
        items = [create_item(checkin_body()) for _ in range(size)]
        with CaptureQueriesContext(connection) as queries:
            response = client_api.post(SYNC, {"items": items}, format="json")
        assert response.status_code == 200
        assert {r["status"] for r in response.json()["results"]} == {"created"}
        counts[size] = len(queries)
    bulk_insert_statements = -(-500 // (999 // 21)) if connection.vendor == "sqlite" else 1
    assert counts[500] <= 8 + bulk_insert_statements, counts
    assert counts[500] - counts[5] < bulk_insert_statements, counts
    assert CheckIn.objects.count() == 505
    print(f"sync batch query counts ({connection.vendor}): {counts}")

    # A retry of all 500 is all `unchanged`, with no inserts at all.
    with django_assert_max_num_queries(8):
        response = client_api.post(SYNC, {"items": items}, format="json")
    assert {r["status"] for r in response.json()["results"]} == {"unchanged"}


def test_feed_page_query_count_does_not_grow_with_page_size(client_api, client_user, django_assert_max_num_queries):
    for _ in range(40):
        make_checkin(client_user)
    for size in (5, 40):
        with django_assert_max_num_queries(5):  # knox token (2), counter, one per entry type (2)
            response = client_api.get(SYNC, {"limit": size})
        assert len(response.json()["changes"]) == size


def test_a_duplicate_insert_that_wins_the_race_is_judged_not_overwritten(client_user, other_client, monkeypatch):
    """The primary key decides between racing creates: simulate the other insert landing between our
    existence check and our INSERT, which then does nothing (ON CONFLICT DO NOTHING) and is re-checked.
    (The select-first path, SQLite's; PostgreSQL inserts first and selects only the conflicts, which
    tests/entries/test_hot_paths.py compares with this path on the same data.)"""
    from tracker.entries.services import checkins as checkin_services
    from tracker.entries.services import entries as entries_services

    monkeypatch.setattr(entries_services, "INSERT_FIRST_VENDORS", frozenset())

    competitor = {"id": None}
    original_bulk_create = CheckIn.objects.bulk_create

    def racing_bulk_create(rows, **kwargs):
        monkeypatch.setattr(CheckIn.objects, "bulk_create", original_bulk_create)
        make_checkin_with_id(other_client, competitor["id"])
        return original_bulk_create(rows, **kwargs)

    def make_checkin_with_id(user, checkin_id):
        from tracker.models import Instrument

        outcome = checkin_services.checkin_create(
            user=user,
            id=checkin_id,
            instrument=Instrument.objects.get(code="wmc"),
            occurred_at=CheckIn._meta.get_field("occurred_at").to_python("2026-01-01T10:00:00+00:00"),
            utc_offset_minutes=0,
            responses=wmc_responses(),
        )
        return outcome

    competitor["id"] = uuid.uuid4()
    monkeypatch.setattr(CheckIn.objects, "bulk_create", racing_bulk_create)
    outcome = make_checkin_with_id(client_user, competitor["id"])
    assert outcome.status == "conflict" and outcome.row is None
    assert CheckIn.objects.filter(id=competitor["id"]).count() == 1
    assert CheckIn.objects.get(id=competitor["id"]).user == other_client


@pytest.mark.postgres
# available_apps: flush with CASCADE (knox's own token table still references users) and reload the
# shipped instruments before the test (post_migrate for these apps).
@pytest.mark.django_db(transaction=True, available_apps=TRANSACTIONAL_APPS)
def test_concurrent_duplicate_creates_make_one_row():
    if connection.vendor != "postgresql":
        pytest.skip("needs a database that serves concurrent connections (PostgreSQL)")
    from tests.factories import UserFactory

    user = UserFactory()
    body = checkin_body()
    apis = [api_for(user, f"device-{n}") for n in range(4)]
    statuses = at_once(lambda api: api.post("/api/v1/checkins/", body, format="json").status_code, apis)
    assert sorted(statuses) == [200, 200, 200, 201]
    assert CheckIn.objects.filter(id=body["id"]).count() == 1


def test_regulation_logs_share_the_feed_and_the_batch(client_api, client_user, django_assert_max_num_queries):
    from tests.entries.test_regulation_api import log_body

    checkin = checkin_body()
    log = log_body(safety=True)
    items = [create_item(checkin), {"type": "regulation_log", "op": "create", "id": log["id"], "record": record(log)}]
    results = client_api.post(SYNC, {"items": items}, format="json").json()["results"]
    assert [(r["type"], r["status"]) for r in results] == [("checkin", "created"), ("regulation_log", "created")]

    completed = {**record(log), "intensity_after": 2, "recovery_minutes": 30}
    update = {"type": "regulation_log", "op": "update", "id": log["id"], "base_revision": 1, "record": completed}
    assert client_api.post(SYNC, {"items": [update]}, format="json").json()["results"][0]["status"] == "updated"
    bad = {
        "type": "regulation_log",
        "op": "create",
        "id": str(uuid.uuid4()),
        "record": {**record(log), "strategies": ["x"]},
    }
    result = client_api.post(SYNC, {"items": [bad]}, format="json").json()["results"][0]
    assert result["status"] == "invalid" and "strategies.0" in result["error"]["fields"]

    changes, _ = pull_all(client_api)
    assert [(c["type"], c["id"]) for c in changes] == [("checkin", checkin["id"]), ("regulation_log", log["id"])]
    assert changes[1]["record"]["recovery_minutes"] == 30 and changes[1]["record"]["safety_flag"] is True
    assert changes[1]["revision"] == 2

    # A mixed batch of 500 is still a fixed number of queries (one select and one insert per type).
    mixed = []
    for _ in range(250):
        mixed.append(create_item(checkin_body()))
        body = log_body()
        mixed.append({"type": "regulation_log", "op": "create", "id": body["id"], "record": record(body)})
    bulk = 1 if connection.vendor == "postgresql" else 2 * -(-250 // (999 // 25))
    with django_assert_max_num_queries(11 + bulk):
        results = client_api.post(SYNC, {"items": mixed}, format="json").json()["results"]
    assert {r["status"] for r in results} == {"created"}


def test_flagged_entries_uploaded_through_sync_carry_crisis_resources(client_api, client_user):
    from tests.entries.test_regulation_api import log_body

    client_user.locale, client_user.country = "en", "US"
    client_user.save()
    flagged_checkin = checkin_body(safety=True)
    calm_checkin = checkin_body()
    log = log_body(safety=True)
    items = [
        create_item(flagged_checkin),
        create_item(calm_checkin),
        {"type": "regulation_log", "op": "create", "id": log["id"], "record": record(log)},
    ]
    results = client_api.post(SYNC, {"items": items}, format="json").json()["results"]
    assert [r["status"] for r in results] == ["created", "created", "created"]
    assert results[0]["crisis_resources"]["country"] == "US"
    assert any(r.get("phone") == "988" for r in results[0]["crisis_resources"]["resources"])
    assert "crisis_resources" not in results[1]
    assert results[2]["crisis_resources"]["country"] == "US"
    # A check-in posted directly answers the same way.
    direct = client_api.post("/api/v1/checkins/", checkin_body(safety=True), format="json").json()
    assert direct["safety_flag"] is True and direct["crisis_resources"]["country"] == "US"
    assert client_api.post("/api/v1/checkins/", checkin_body(), format="json").json()["crisis_resources"] is None
