"""Reminders, devices and inbox endpoints: shapes, strict validation, ownership, query counts."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from notifications.jobs import reminders_job
from notifications.models import Delivery, Device, InboxItem, ReminderSchedule
from tests.conftest import api_for
from tests.factories import UserFactory
from tests.helpers import assert_error
from tests.notifications.factories import make_schedule

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 1, 12, 6, 0, tzinfo=UTC)  # 07:00 in Berlin, a Monday
VALID = {
    "times": ["09:00", "20:30"],
    "weekdays": [1, 2, 3, 4, 5],
    "quiet_hours": {"start": "22:00", "end": "07:00"},
    "skip_if_done": True,
    "channels": ["push", "email"],
    "paused_until": None,
    "enabled": True,
}


def test_get_before_any_put_shows_an_empty_schedule(client_api):
    body = client_api.get("/api/v1/reminders/").json()
    assert body["times"] == [] and body["next_due_at"] is None
    assert body["timezone"] == "Europe/Berlin" and body["push_available"] is False


def test_put_replaces_the_schedule_and_computes_next_due_at_in_utc(client_api, client_user):
    with time_machine.travel(NOW, tick=False):
        response = client_api.put("/api/v1/reminders/", VALID, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["next_due_at"] == "2026-01-12T08:00:00Z"  # 09:00 CET
    assert body["channels"] == ["inbox", "push", "email"]  # the inbox is always on
    assert body["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    assert client_api.get("/api/v1/reminders/").json() == body

    with time_machine.travel(NOW, tick=False):
        paused = client_api.put(
            "/api/v1/reminders/", {**VALID, "paused_until": "2026-01-20T00:00:00Z"}, format="json"
        ).json()
    assert paused["next_due_at"] == "2026-01-20T08:00:00Z"  # Tuesday after the pause
    with time_machine.travel(NOW, tick=False):
        off = client_api.put("/api/v1/reminders/", {**VALID, "enabled": False}, format="json").json()
    assert off["next_due_at"] is None
    assert ReminderSchedule.objects.filter(user=client_user).count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"times": ["25:00"]}, "times.0"),
        ({"times": ["9am"]}, "times.0"),
        ({"times": [900]}, "times.0"),
        ({"times": "09:00"}, "times"),
        ({"times": ["09:00", "09:00"]}, "times"),
        ({"times": [f"{h:02d}:00" for h in range(13)]}, "times"),
        ({"weekdays": [0]}, "weekdays.0"),
        ({"weekdays": [8]}, "weekdays.0"),
        ({"weekdays": ["1"]}, "weekdays.0"),
        ({"weekdays": [True]}, "weekdays.0"),
        ({"weekdays": list(range(1, 8)) * 200}, "weekdays"),
        ({"channels": ["pigeon"]}, "channels.0"),
        ({"channels": ["push", "push"]}, "channels"),
        ({"skip_if_done": "yes"}, "skip_if_done"),
        ({"enabled": 1}, "enabled"),
        ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, "quiet_hours.end"),
        ({"quiet_hours": {"start": "22:00"}}, "quiet_hours.end"),
        ({"paused_until": "soon"}, "paused_until"),
    ],
)
def test_bad_schedule_input_is_a_400_naming_the_field_and_writes_nothing(client_api, client_user, change, field):
    assert_error(
        client_api.put("/api/v1/reminders/", {**VALID, **change}, format="json"), 400, "validation_error", [field]
    )
    assert not ReminderSchedule.objects.filter(user=client_user).exists()


def test_missing_required_fields_and_non_object_bodies_are_400(client_api):
    assert_error(client_api.put("/api/v1/reminders/", {}, format="json"), 400, fields=["times", "weekdays"])
    assert_error(client_api.put("/api/v1/reminders/", [1, 2], format="json"), 400)


def test_device_registration_moves_a_token_to_the_current_user(client_api, other_client_api, client_user, other_client):
    created = client_api.post("/api/v1/devices/", {"platform": "ios", "token": "tok-A", "app_version": "2.0"})
    assert created.status_code == 201
    again = client_api.post("/api/v1/devices/", {"platform": "ios", "token": "tok-A", "app_version": "2.1"})
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    Device.objects.filter(token="tok-A").update(enabled=False, disabled_reason="invalid_token")

    moved = other_client_api.post("/api/v1/devices/", {"platform": "ios", "token": "tok-A"})
    assert moved.status_code == 200
    device = Device.objects.get(token="tok-A")
    assert device.user == other_client and device.enabled  # re-registered: live again
    assert client_api.get("/api/v1/devices/").json()["results"] == []
    assert [d["token"] for d in other_client_api.get("/api/v1/devices/").json()["results"]] == ["tok-A"]


def test_deleting_another_users_device_is_a_404_and_own_is_204(client_api, other_client_api):
    device_id = client_api.post("/api/v1/devices/", {"platform": "android", "token": "tok-B"}).json()["id"]
    assert_error(other_client_api.delete(f"/api/v1/devices/{device_id}/"), 404, "not_found")
    assert Device.objects.filter(id=device_id).exists()
    assert client_api.delete(f"/api/v1/devices/{device_id}/").status_code == 204
    assert_error(client_api.delete(f"/api/v1/devices/{device_id}/"), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"platform": "nokia", "token": "t"},
        {"platform": "ios", "token": ""},
        {"platform": "ios", "token": "x" * 5000},
        {"platform": "ios"},
        {"platform": ["ios"], "token": "t"},
    ],
)
def test_bad_device_input_is_a_400(client_api, body):
    assert_error(client_api.post("/api/v1/devices/", body, format="json"), 400, "validation_error")
    assert not Device.objects.exists()


def _nudges_for(user, count: int) -> None:
    make_schedule(user, times=["09:00"], now=NOW)
    for day in range(count):
        ReminderSchedule.objects.filter(user=user).update(unopened_streak=0)
        reminders_job(now=NOW + timedelta(days=day, hours=2))


def test_inbox_lists_newest_first_with_cursor_pagination_and_only_own_items(client_api, client_user, other_client):
    _nudges_for(client_user, 5)
    _nudges_for(other_client, 2)
    first = client_api.get("/api/v1/inbox/?page_size=2").json()
    assert len(first["results"]) == 2 and first["next"]
    second = client_api.get(first["next"]).json()
    third = client_api.get(second["next"]).json()
    items = first["results"] + second["results"] + third["results"]
    assert len(items) == 5 and third["next"] is None
    created = [i["created_at"] for i in items]
    assert created == sorted(created, reverse=True)
    assert {i["kind"] for i in items} == {"nudge"}
    assert set(items[0]) == {"id", "kind", "title", "body", "deep_link", "created_at", "read_at", "opened_at"}


def test_mark_read_opened_receipt_and_read_all(client_api, other_client_api, client_user):
    _nudges_for(client_user, 3)
    newest, middle, oldest = (i["id"] for i in client_api.get("/api/v1/inbox/").json()["results"])
    ReminderSchedule.objects.filter(user=client_user).update(unopened_streak=3)

    assert_error(other_client_api.post(f"/api/v1/inbox/{newest}/opened"), 404)
    opened = client_api.post(f"/api/v1/inbox/{newest}/opened").json()
    assert opened["opened_at"] and opened["read_at"]
    assert ReminderSchedule.objects.get(user=client_user).unopened_streak == 0  # back-off resets
    again = client_api.post(f"/api/v1/inbox/{newest}/opened").json()
    assert again["opened_at"] == opened["opened_at"]  # idempotent

    read = client_api.post(f"/api/v1/inbox/{middle}/read").json()
    assert read["read_at"] and read["opened_at"] is None
    unread = client_api.get("/api/v1/inbox/?unread=true").json()["results"]
    assert [i["id"] for i in unread] == [oldest]
    assert client_api.post("/api/v1/inbox/read-all").json() == {"marked": 1}
    assert client_api.get("/api/v1/inbox/?unread=true").json()["results"] == []
    assert_error(client_api.get("/api/v1/inbox/?unread=maybe"), 400, fields=["unread"])
    assert_error(client_api.post("/api/v1/inbox/00000000-0000-0000-0000-000000000000/read"), 404)


@pytest.mark.parametrize("size", [3, 30])
def test_inbox_and_device_lists_take_a_constant_number_of_queries(size, django_assert_max_num_queries):
    user = UserFactory()
    api = api_for(user)
    for n in range(size):
        delivery = Delivery.objects.create(
            user=user, kind="nudge", slot=NOW + timedelta(hours=n), status="sent", created_at=NOW
        )
        InboxItem.objects.create(user=user, delivery=delivery, kind="nudge", title="t", body="b", created_at=NOW)
        Device.objects.create(user=user, platform="android", token=f"tok-{size}-{n}")
    with django_assert_max_num_queries(3):  # token auth (2) + the page
        assert len(api.get("/api/v1/inbox/?page_size=200").json()["results"]) == size
    with django_assert_max_num_queries(3):
        assert len(api.get("/api/v1/devices/?page_size=200").json()["results"]) == size


def test_profile_timezone_change_through_the_api_reschedules(client_api, client_user):
    with time_machine.travel(NOW, tick=False):
        client_api.put("/api/v1/reminders/", {**VALID, "quiet_hours": None}, format="json")
        assert client_api.patch("/api/v1/me", {"timezone": "America/Los_Angeles"}).status_code == 200
        body = client_api.get("/api/v1/reminders/").json()
    assert body["timezone"] == "America/Los_Angeles"
    assert body["next_due_at"] == "2026-01-12T17:00:00Z"  # 09:00 PST


def test_deleting_a_device_by_token_removes_only_the_requesting_users_device(
    client_api, other_client_api, other_client
):
    client_api.post("/api/v1/devices/", {"platform": "ios", "token": "tok-mine"})
    other_client_api.post("/api/v1/devices/", {"platform": "android", "token": "tok-theirs"})
    assert client_api.delete("/api/v1/devices/", {"token": "tok-mine"}, format="json").status_code == 204
    assert not Device.objects.filter(token="tok-mine").exists()
    assert_error(client_api.delete("/api/v1/devices/", {"token": "tok-mine"}, format="json"), 404, "not_found")
    # Another user's token is a 404 and their device stays.
    assert_error(client_api.delete("/api/v1/devices/", {"token": "tok-theirs"}, format="json"), 404, "not_found")
    assert Device.objects.get(token="tok-theirs").user == other_client


def test_a_token_that_moved_to_another_user_cannot_be_deleted_by_its_previous_owner(
    client_api, other_client_api, other_client
):
    client_api.post("/api/v1/devices/", {"platform": "ios", "token": "tok-moved"})
    other_client_api.post("/api/v1/devices/", {"platform": "ios", "token": "tok-moved"})
    assert_error(client_api.delete("/api/v1/devices/", {"token": "tok-moved"}, format="json"), 404, "not_found")
    assert Device.objects.get(token="tok-moved").user == other_client


@pytest.mark.parametrize(
    "body",
    [{}, {"token": ""}, {"token": 123}, {"token": True}, {"token": None}, {"token": ["tok-C"]}, ["tok-C"], "tok-C"],
)
def test_bad_delete_by_token_input_is_a_400_and_deletes_nothing(client_api, body):
    client_api.post("/api/v1/devices/", {"platform": "ios", "token": "tok-C"})
    client_api.post("/api/v1/devices/", {"platform": "ios", "token": "123"})
    assert_error(client_api.delete("/api/v1/devices/", body, format="json"), 400, "validation_error")
    assert Device.objects.count() == 2
