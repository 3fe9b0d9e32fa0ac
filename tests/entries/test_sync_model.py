"""Model-based test of offline sync: two devices of one user make random creates, edits and deletes
of check-ins and regulation logs (one feed for both),
upload them in batches that arrive out of order, lose responses (and are retried), pull the feed in
pages of random size — and in the end both devices hold exactly the server's state.

Each device follows the client protocol documented on `/api/v1/sync/`:
- it changes its local copy at once and queues an operation (a create that has not left the phone
  yet is edited or dropped in place; otherwise an update names the revision it was based on);
- a batch result `conflict` carries the server's version in `current`, which the device adopts;
- a pull applies changes in feed order (upsert → store the record, delete → drop it)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from tests.conftest import api_for
from tests.entries.entry_factories import local_time
from tests.factories import UserFactory
from tracker.entries import vocabularies
from tracker.entries.serializers.checkins import CheckInSerializer
from tracker.entries.serializers.regulation import RegulationLogSerializer
from tracker.models import CheckIn, RegulationLog

pytestmark = pytest.mark.django_db

SYNC = "/api/v1/sync/"


# --- Entry types taking part (each: a record generator, its content, the server's live rows) -------
def checkin_record(draw) -> dict:
    minutes_ago = draw(st.integers(1, 60 * 24 * 5))
    return {
        "instrument": "wmc",
        "occurred_at": local_time(
            timezone.now() - timedelta(minutes=minutes_ago), draw(st.sampled_from([-300, 0, 60]))
        ),
        "responses": [{"item": n, "value": draw(st.integers(1, 7))} for n in range(1, 9)],
        "note": draw(st.sampled_from(["", "a", "after the call"])),
    }


def checkin_content(record: dict) -> tuple:
    responses = tuple((r["item"], r["value"]) for r in sorted(record["responses"], key=lambda r: r["item"]))
    return (record["occurred_at"], responses, record["note"])


def checkin_server_state(user) -> dict:
    rows = CheckIn.objects.filter(user=user, deleted_at__isnull=True).select_related("instrument")
    return {str(row.id): checkin_content(CheckInSerializer(row).data) for row in rows}


def regulation_record(draw) -> dict:
    minutes_ago = draw(st.integers(1, 60 * 24 * 5))
    before = draw(st.none() | st.integers(0, 10))
    reached_out = draw(st.sampled_from([None, False, True]))
    return {
        "occurred_at": local_time(timezone.now() - timedelta(minutes=minutes_ago), draw(st.sampled_from([0, 330]))),
        "trigger": draw(st.sampled_from(sorted(vocabularies.TRIGGERS))),
        "trigger_target": draw(st.sampled_from(["", "partner", "friend"])),
        "emotions": [
            {"label": label, "intensity": draw(st.integers(0, 10))}
            for label in draw(st.lists(st.sampled_from(sorted(vocabularies.EMOTIONS)), max_size=3, unique=True))
        ],
        "intensity_before": before,
        "intensity_after": None if before is None else draw(st.none() | st.integers(0, 10)),
        "strategies": draw(st.lists(st.sampled_from(sorted(vocabularies.STRATEGIES)), max_size=3, unique=True)),
        "reached_out": reached_out,
        "reached_out_helped": draw(st.none() | st.booleans()) if reached_out else None,
        "recovery_minutes": draw(st.none() | st.integers(0, 600)),
        "safety": draw(st.sampled_from([None, False])),
        "note": draw(st.sampled_from(["", "b"])),
    }


def regulation_content(record: dict) -> tuple:
    emotions = tuple(sorted((e["label"], e["intensity"]) for e in record["emotions"]))
    simple = ("occurred_at", "trigger", "trigger_target", "intensity_before", "intensity_after", "reached_out")
    rest = ("reached_out_helped", "recovery_minutes", "safety", "note")
    return (
        *(record[k] or "" if k == "trigger_target" else record[k] for k in simple),
        emotions,
        tuple(sorted(record["strategies"])),
        *(record[k] for k in rest),
    )


def regulation_server_state(user) -> dict:
    rows = RegulationLog.objects.filter(user=user, deleted_at__isnull=True)
    return {str(row.id): regulation_content(RegulationLogSerializer(row).data) for row in rows}


ENTRY_TYPES = {
    "checkin": (checkin_record, checkin_content, checkin_server_state),
    "regulation_log": (regulation_record, regulation_content, regulation_server_state),
}


class Device:
    def __init__(self, api):
        self.api = api
        self.store: dict[tuple[str, str], dict] = {}  # (type, id) -> {"revision", "record"}
        self.outbox: dict[tuple[str, str], dict] = {}  # collapsed, unsent operations
        self.in_flight: list[list[dict]] = []  # sent batches whose response has not arrived
        self.cursor: str | None = None

    def content(self) -> dict:
        return {key: ENTRY_TYPES[key[0]][1](entry["record"]) for key, entry in self.store.items()}

    def queue(self, key, op: str, record: dict | None = None):
        pending = self.outbox.get(key)
        if pending and pending["op"] == "create":
            if op == "delete":
                del self.outbox[key]  # never left the phone: nothing to tell the server
            else:
                pending["record"] = record
            return
        item = {"type": key[0], "op": op, "id": key[1]}
        if record is not None:
            item["record"] = record
        known = self.store.get(key, {}).get("revision") if op == "update" else None
        if op == "update" and pending and "base_revision" in pending:
            known = pending["base_revision"]
        if known is not None:
            item["base_revision"] = known
        self.outbox[key] = item

    def adopt(self, change: dict):
        key = (change["type"], change["id"])
        if change["op"] == "delete":
            self.store.pop(key, None)
        else:
            self.store[key] = {"revision": change["revision"], "record": change["record"]}

    def deliver(self, batch: list[dict]) -> None:
        response = self.api.post(SYNC, {"items": batch}, format="json")
        assert response.status_code == 200, response.content
        results = response.json()["results"]
        assert len(results) == len(batch)
        for item, result in zip(batch, results, strict=True):
            assert (result["type"], result["id"]) == (item["type"], item["id"])
            key = (item["type"], item["id"])
            assert result["status"] != "invalid" or result["error"]["code"] == "not_found", result
            if result["status"] == "conflict":
                assert result["current"] is not None
                self.adopt(result["current"])
            elif result["status"] in ("created", "updated", "unchanged") and key in self.store:
                if self.store[key]["record"] == item.get("record"):
                    self.store[key]["revision"] = result["revision"]

    def pull(self, limit: int) -> None:
        while True:
            params = {"limit": limit} | ({"cursor": self.cursor} if self.cursor else {})
            response = self.api.get(SYNC, params)
            assert response.status_code == 200, response.content
            page = response.json()
            for change in page["changes"]:
                self.adopt(change)
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return


class TwoDevicesSync(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.user = UserFactory()
        self.devices = [Device(api_for(self.user, "phone")), Device(api_for(self.user, "tablet"))]

    devices_index = st.sampled_from([0, 1])

    @rule(device=devices_index, kind=st.sampled_from(sorted(ENTRY_TYPES)), data=st.data())
    def create(self, device, kind, data):
        key = (kind, str(uuid.uuid4()))
        record = ENTRY_TYPES[kind][0](data.draw)
        self.devices[device].store[key] = {"revision": None, "record": record}
        self.devices[device].queue(key, "create", record)

    @rule(device=devices_index, data=st.data())
    def edit(self, device, data):
        phone = self.devices[device]
        if not phone.store:
            return
        key = data.draw(st.sampled_from(sorted(phone.store)))
        record = ENTRY_TYPES[key[0]][0](data.draw)
        phone.queue(key, "update", record)
        phone.store[key]["record"] = record

    @rule(device=devices_index, data=st.data())
    def delete(self, device, data):
        phone = self.devices[device]
        if not phone.store:
            return
        key = data.draw(st.sampled_from(sorted(phone.store)))
        phone.queue(key, "delete")
        del phone.store[key]

    @rule(device=devices_index)
    def send(self, device):
        phone = self.devices[device]
        if phone.outbox:
            phone.in_flight.append(list(phone.outbox.values()))
            phone.outbox = {}

    @rule(device=devices_index, data=st.data(), response_lost=st.booleans())
    def deliver(self, device, data, response_lost):
        """Any in-flight batch may arrive next (out of order); a lost response means a later retry."""
        phone = self.devices[device]
        if not phone.in_flight:
            return
        index = data.draw(st.integers(0, len(phone.in_flight) - 1))
        batch = phone.in_flight[index]
        if response_lost:
            phone.api.post(SYNC, {"items": batch}, format="json")  # stored, but the phone never hears back
            return
        phone.in_flight.pop(index)
        phone.deliver(batch)

    @rule(device=devices_index, limit=st.integers(1, 5))
    def pull(self, device, limit):
        self.devices[device].pull(limit)

    def teardown(self):
        # Network heals: every device's queue goes out, in-flight batches land newest first, then both pull.
        for phone in self.devices:
            self.send(self.devices.index(phone))
            while phone.in_flight:
                phone.deliver(phone.in_flight.pop())
        server = {}
        for kind, (_, _, server_state) in ENTRY_TYPES.items():
            server.update({(kind, key): value for key, value in server_state(self.user).items()})
        for phone in self.devices:
            phone.pull(limit=7)
            assert phone.content() == server


def test_two_devices_converge_on_the_servers_state():
    run_state_machine_as_test(TwoDevicesSync, settings=settings(max_examples=30, stateful_step_count=25, deadline=None))
