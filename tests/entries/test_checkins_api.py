"""`/api/v1/checkins/`: idempotent creates with scores, lists, detail, edits within 24 h, tombstones."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.entries.entry_factories import checkin_body, local_time, make_checkin, wmc_responses
from tests.helpers import assert_error, load_licensed_wording
from tracker.models import CheckIn

pytestmark = pytest.mark.django_db

URL = "/api/v1/checkins/"


def detail(checkin_id) -> str:
    return f"{URL}{checkin_id}/"


def test_create_returns_the_scores_and_keeps_the_local_offset(client_api, client_user):
    body = checkin_body(occurred_at="2026-01-10T21:30:00+01:00")
    with time_machine.travel("2026-01-11T08:00:00Z"):
        response = client_api.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["id"] == body["id"]
    assert (data["instrument"], data["instrument_version"]) == ("wmc", 1)
    assert data["occurred_at"] == "2026-01-10T21:30:00+01:00"
    assert data["utc_offset_minutes"] == 60
    assert data["scores"] == {
        "anxiety": 5.5,
        "avoidance": 1.5,
        "self_model": 2.5,
        "other_model": 6.5,
        "quadrant": "preoccupied",
        "distance_to_secure": 1.5,
    }
    assert data["note"] == body["note"]
    assert data["revision"] == 1
    stored = CheckIn.objects.get(id=body["id"])
    assert stored.user == client_user
    assert stored.occurred_at.isoformat() == "2026-01-10T20:30:00+00:00"
    assert (stored.anxiety, stored.quadrant) == (5.5, "preoccupied")


def test_instrument_defaults_to_the_default_one(client_api):
    body = checkin_body()
    body.pop("instrument")
    response = client_api.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["instrument"] == "wmc"


def test_same_id_same_body_is_200_with_the_stored_object_and_one_row(client_api):
    body = checkin_body()
    first = client_api.post(URL, body, format="json")
    again = client_api.post(URL, body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    # The same instant written in another offset is a different body (the local offset is data).
    assert CheckIn.objects.filter(id=body["id"]).count() == 1


def test_same_id_different_body_is_409_and_changes_nothing(client_api):
    body = checkin_body()
    client_api.post(URL, body, format="json")
    changed = {**body, "responses": wmc_responses({n: 4 for n in range(1, 9)})}
    assert_error(client_api.post(URL, changed, format="json"), 409, "conflict")
    assert_error(client_api.post(URL, {**body, "note": "other"}, format="json"), 409, "conflict")
    assert CheckIn.objects.get(id=body["id"]).anxiety == 5.5


def test_reusing_another_users_id_is_a_conflict_that_reveals_nothing(client_api, other_client_api):
    body = checkin_body()
    assert client_api.post(URL, body, format="json").status_code == 201
    error = assert_error(other_client_api.post(URL, body, format="json"), 409, "conflict")
    assert "different content" in error["message"]  # the same words as for your own changed body
    assert CheckIn.objects.get(id=body["id"]).user.email == "casey.client@example.test"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id": "not-a-uuid"}, "id"),
        ({"id": None}, "id"),
        ({"instrument": "nope"}, "instrument"),
        ({"instrument_version": 99}, "instrument_version"),
        ({"instrument_version": "1"}, "instrument_version"),
        ({"occurred_at": "2026-01-10T21:30:00"}, "occurred_at"),  # no offset
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": 1700000000}, "occurred_at"),
        ({"responses": []}, "responses"),
        ({"responses": "all fours"}, "responses"),
        ({"responses": wmc_responses()[:-1]}, "responses"),  # item 8 missing
        ({"responses": [*wmc_responses(), {"item": 8, "value": 3}]}, "responses"),  # item 8 twice
        ({"responses": [*wmc_responses(), {"item": 9, "value": 3}]}, "responses"),  # no item 9
        ({"responses": wmc_responses({**dict.fromkeys(range(1, 9), 4), 3: 8})}, "responses"),
        ({"responses": wmc_responses({**dict.fromkeys(range(1, 9), 4), 3: 0})}, "responses"),
        ({"responses": [{"item": 1, "value": "4"}]}, "responses.0.value"),
        ({"responses": [{"item": 1, "value": 4.5}]}, "responses.0.value"),
        ({"responses": [{"item": 1}]}, "responses.0.value"),
        ({"note": "x" * 4001}, "note"),
        ({"note": 12}, "note"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(client_api, overrides, field):
    body = checkin_body(**overrides)
    assert_error(client_api.post(URL, body, format="json"), 400, "validation_error", fields=[field])
    assert CheckIn.objects.count() == 0


def test_missing_required_fields_are_named(client_api):
    error = assert_error(client_api.post(URL, {}, format="json"), 400, "validation_error")
    assert {"id", "occurred_at", "responses"} <= set(error["fields"])
    assert_error(client_api.post(URL, [1, 2], format="json"), 400)


def test_far_future_times_are_refused_but_clock_drift_is_tolerated(client_api):
    future = local_time(timezone.now() + timedelta(days=2))
    assert_error(client_api.post(URL, checkin_body(occurred_at=future), format="json"), 400, fields=["occurred_at"])
    drift = local_time(timezone.now() + timedelta(minutes=3))
    assert client_api.post(URL, checkin_body(occurred_at=drift), format="json").status_code == 201


def test_ecr_rs_check_in_reports_one_score_set_per_target(client_api, tmp_path):
    load_licensed_wording(tmp_path, ["ecr-rs"])
    responses = [{"item": n, "value": 7, "target": "partner"} for n in range(1, 10)]
    responses += [{"item": n, "value": 2, "target": "mother"} for n in range(1, 10)]
    response = client_api.post(URL, checkin_body(instrument="ecr-rs", responses=responses), format="json")
    assert response.status_code == 201, response.content
    scores = response.json()["scores"]
    assert set(scores["targets"]) == {"partner", "mother"}
    assert scores["targets"]["partner"]["avoidance"] == 3.0
    assert scores["anxiety"] == 4.5
    assert scores["partial"] is True  # two of four targets: no global score


def test_rq_check_in_reports_models_of_self_and_others(client_api, tmp_path):
    load_licensed_wording(tmp_path, ["rq"])
    responses = [{"item": 1, "value": 6}, {"item": 2, "value": 2}, {"item": 3, "value": 3}, {"item": 4, "value": 5}]
    response = client_api.post(URL, checkin_body(instrument="rq", responses=responses), format="json")
    assert response.status_code == 201, response.content
    scores = response.json()["scores"]
    assert (scores["model_of_self"], scores["model_of_others"]) == (6, 2)
    assert (scores["anxiety"], scores["avoidance"]) == (2.5, 3.5)


def test_list_is_newest_first_paginated_and_filtered_by_since_until(client_api, client_user, other_client):
    base = timezone.now() - timedelta(days=10)
    made = [make_checkin(client_user, occurred_at=base + timedelta(days=d)) for d in range(6)]
    make_checkin(other_client)
    make_checkin(client_user, occurred_at=base + timedelta(days=7))
    deleted = make_checkin(client_user, occurred_at=base + timedelta(days=8))
    client_api.delete(detail(deleted.id))

    response = client_api.get(URL, {"page_size": 4})
    assert response.status_code == 200
    page = response.json()
    assert len(page["results"]) == 4 and page["next"]
    ids = [r["id"] for r in page["results"]]
    rest = client_api.get(page["next"]).json()
    ids += [r["id"] for r in rest["results"]]
    assert rest["next"] is None
    assert len(ids) == 7 and str(deleted.id) not in ids  # own, live only

    window = client_api.get(
        URL, {"since": (base + timedelta(days=1)).isoformat(), "until": (base + timedelta(days=3)).isoformat()}
    )
    assert [r["id"] for r in window.json()["results"]] == [str(made[2].id), str(made[1].id)]  # until is exclusive
    assert_error(client_api.get(URL, {"since": "soon"}), 400, fields=["since"])
    # An empty window is an empty list (a rule across two parameters the schema could not state).
    assert client_api.get(URL, {"since": base.isoformat(), "until": base.isoformat()}).json()["results"] == []
    assert_error(client_api.get(URL, {"cursor": "garbage"}), 404)


def test_detail_and_other_users_checkins_are_404(client_api, other_client_api, client_user):
    checkin = make_checkin(client_user, note="private")
    assert client_api.get(detail(checkin.id)).json()["note"] == "private"
    for call in (other_client_api.get, other_client_api.delete):
        assert_error(call(detail(checkin.id)), 404, "not_found")
    assert_error(other_client_api.patch(detail(checkin.id), {"note": "x"}, format="json"), 404)
    assert_error(client_api.get(detail(uuid.uuid4())), 404)
    assert CheckIn.objects.get(id=checkin.id).note == "private"


def test_edit_recomputes_scores_and_bumps_revision(client_api, client_user):
    checkin = make_checkin(client_user)
    response = client_api.patch(
        detail(checkin.id), {"responses": wmc_responses(dict.fromkeys(range(1, 9), 4)), "note": "calmer"}, format="json"
    )
    assert response.status_code == 200, response.content
    data = response.json()
    # All midpoints: on the cut, which is secure (distance 0).
    assert data["scores"]["anxiety"] == 4.0 and data["scores"]["quadrant"] == "secure"
    assert data["scores"]["distance_to_secure"] == 0.0
    assert (data["note"], data["revision"]) == ("calmer", 2)
    checkin.refresh_from_db()
    assert (checkin.anxiety, checkin.avoidance, checkin.distance_to_secure) == (4.0, 4.0, 0.0)


def test_edit_validates_and_checks_the_revision(client_api, client_user):
    checkin = make_checkin(client_user)
    assert_error(client_api.patch(detail(checkin.id), {"responses": [{"item": 1, "value": 9}]}, format="json"), 400)
    assert_error(
        client_api.patch(detail(checkin.id), {"note": "a", "revision": 7}, format="json"), 409, "stale_revision"
    )
    assert client_api.patch(detail(checkin.id), {"note": "a", "revision": 1}, format="json").status_code == 200
    checkin.refresh_from_db()
    assert (checkin.revision, checkin.note) == (2, "a")


def test_edits_close_after_24_hours_but_delete_still_works(client_api, client_user):
    with time_machine.travel(timezone.now() - timedelta(hours=25)):
        checkin = make_checkin(client_user)
    assert_error(client_api.patch(detail(checkin.id), {"note": "late"}, format="json"), 409, "edit_window_closed")
    assert client_api.delete(detail(checkin.id)).status_code == 204


def test_delete_leaves_a_tombstone_and_hides_the_checkin(client_api, client_user):
    checkin = make_checkin(client_user, note="to be forgotten")
    assert client_api.delete(detail(checkin.id)).status_code == 204
    tombstone = CheckIn.objects.get(id=checkin.id)
    assert tombstone.deleted_at is not None and tombstone.note == ""
    assert tombstone.revision == 2
    assert_error(client_api.get(detail(checkin.id)), 404)
    assert_error(client_api.delete(detail(checkin.id)), 404)
    # A retried create of a deleted check-in does not bring it back.
    body = checkin_body(id=str(checkin.id))
    assert_error(client_api.post(URL, body, format="json"), 409, "deleted")


def test_list_query_count_does_not_grow_with_page_size(client_api, client_user, django_assert_max_num_queries):
    for _ in range(30):
        make_checkin(client_user)
    for size in (5, 30):
        with django_assert_max_num_queries(3):  # knox token (2), page (instrument joined), nothing per row
            response = client_api.get(URL, {"page_size": size})
        assert len(response.json()["results"]) == size


def test_create_query_count_is_small(client_api, django_assert_max_num_queries):
    with django_assert_max_num_queries(9):
        assert client_api.post(URL, checkin_body(), format="json").status_code == 201


@pytest.mark.parametrize("code", ["ecr-r", "ecr-s", "ecr-rs", "rq"])
def test_placeholder_instruments_are_refused_until_the_clinic_loads_wording(client_api, code, tmp_path):
    from tracker.entries.services.instruments import definitions_read

    definition = next(d for d in definitions_read() if d["code"] == code)
    target = {"target": "partner"} if definition.get("targets") else {}
    responses = [{"item": item["number"], "value": 4, **target} for item in definition["items"]]
    refused = client_api.post(URL, checkin_body(instrument=code, responses=responses), format="json")
    assert_error(refused, 409, "instrument_wording_missing")
    load_licensed_wording(tmp_path, [code])
    accepted = client_api.post(URL, checkin_body(instrument=code, responses=responses), format="json")
    assert accepted.status_code == 201, accepted.content
