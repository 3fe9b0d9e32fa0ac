"""Instruments as versioned data: the loader, version pinning, and the read endpoints."""

import copy
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.entries.entry_factories import make_checkin, wmc_responses
from tests.helpers import assert_error, load_licensed_wording
from tracker.entries.services.instruments import (
    DefinitionError,
    definitions_read,
    instruments_load,
)
from tracker.models import CheckIn, Instrument

pytestmark = pytest.mark.django_db


def shipped(code: str) -> dict:
    return copy.deepcopy(next(d for d in definitions_read() if d["code"] == code))


def test_shipped_instruments_are_loaded_with_one_default():
    assert set(Instrument.objects.values_list("code", flat=True)) == {"wmc", "ecr-r", "ecr-s", "ecr-rs", "rq"}
    assert list(Instrument.objects.filter(is_default=True).values_list("code", flat=True)) == ["wmc"]


def test_loader_is_idempotent_and_updates_wording_in_place(tmp_path, capsys):
    call_command("load_instruments")
    assert "unchanged: wmc v1" in capsys.readouterr().out
    assert Instrument.objects.count() == 5

    clinic = shipped("ecr-s")
    clinic["items"][0]["text"] = "Licensed wording of item 1"
    (tmp_path / "ecr-s.json").write_text(json.dumps(clinic))
    call_command("load_instruments", "--path", str(tmp_path))
    assert "updated: ecr-s v1" in capsys.readouterr().out
    assert Instrument.objects.get(code="ecr-s").definition["items"][0]["text"] == "Licensed wording of item 1"
    # Re-running migrations' hook never puts the placeholders back.
    from tracker.entries.services.instruments import shipped_instruments_ensure

    shipped_instruments_ensure()
    assert Instrument.objects.get(code="ecr-s").definition["items"][0]["text"] == "Licensed wording of item 1"


def test_changing_a_scoring_key_needs_a_new_version(tmp_path):
    changed = shipped("wmc")
    changed["items"][0]["reverse"] = True
    with pytest.raises(DefinitionError, match="new version"):
        instruments_load(definitions=[changed])
    (tmp_path / "wmc.json").write_text(json.dumps(changed))
    with pytest.raises(CommandError, match="new version"):
        call_command("load_instruments", "--path", str(tmp_path))
    assert Instrument.objects.get(code="wmc").definition["items"][0]["reverse"] is False


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d.pop("items"),
        lambda d: d["items"].pop(0),  # numbering no longer 1..n
        lambda d: d["items"][0].update(dimension="worry"),
        lambda d: d.update(version=0),
        lambda d: d["scale"].update(min=7),
    ],
)
def test_malformed_definitions_are_refused(breakage):
    definition = shipped("wmc")
    definition["version"] = 2
    breakage(definition)
    with pytest.raises(DefinitionError):
        instruments_load(definitions=[definition])
    assert not Instrument.objects.filter(code="wmc", version=2).exists()


def test_a_new_version_never_rescores_checkins_under_the_old_one(client_user, client_api):
    old = make_checkin(client_user)
    v2 = shipped("wmc")
    v2["version"] = 2
    for item in v2["items"]:
        item["reverse"] = not item["reverse"]
    instruments_load(definitions=[v2])
    assert Instrument.objects.get(code="wmc", is_default=True).version == 2

    # The old check-in keeps its version and scores, also when edited (recomputed with v1).
    response = client_api.patch(f"/api/v1/checkins/{old.id}/", {"note": "edited"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["instrument_version"], response.json()["scores"]["anxiety"]) == (1, 5.5)
    # A new check-in without a version uses v2; one asking for v1 still can.
    body = {
        "id": "5d1e0f9e-2c1b-4d0a-9f55-8f6a4e0f0a01",
        "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
    }
    new = client_api.post("/api/v1/checkins/", {**body, "responses": wmc_responses()}, format="json").json()
    assert (new["instrument_version"], new["scores"]["anxiety"]) == (2, 2.5)
    body["id"] = "5d1e0f9e-2c1b-4d0a-9f55-8f6a4e0f0a02"
    pinned = client_api.post(
        "/api/v1/checkins/", {**body, "instrument_version": 1, "responses": wmc_responses()}, format="json"
    ).json()
    assert pinned["instrument_version"] == 1
    assert CheckIn.objects.filter(instrument__version=1).count() == 2


def test_clients_are_only_offered_instruments_with_wording(client_api, therapist_api, tmp_path):
    assert [i["code"] for i in client_api.get("/api/v1/instruments/").json()] == ["wmc"]
    every = therapist_api.get("/api/v1/instruments/").json()
    assert {i["code"]: i["wording_loaded"] for i in every} == {
        "wmc": True,
        "ecr-r": False,
        "ecr-s": False,
        "ecr-rs": False,
        "rq": False,
    }
    load_licensed_wording(tmp_path, ["ecr-s"])
    assert [i["code"] for i in client_api.get("/api/v1/instruments/").json()] == ["wmc", "ecr-s"]


def test_instrument_list_and_detail(client_api, tmp_path):
    load_licensed_wording(tmp_path)
    listing = client_api.get("/api/v1/instruments/")
    assert listing.status_code == 200
    codes = [i["code"] for i in listing.json()]
    assert codes[0] == "wmc" and set(codes) == {"wmc", "ecr-r", "ecr-s", "ecr-rs", "rq"}
    ecr_rs = next(i for i in listing.json() if i["code"] == "ecr-rs")
    assert ecr_rs["targets"] == ["mother", "father", "partner", "best_friend"] and ecr_rs["item_count"] == 9

    detail = client_api.get("/api/v1/instruments/ecr-r/").json()
    assert detail["items"][11] == {
        "number": 12,
        "text": "Clinic wording of ecr-r statement 12",
        "dimension": "anxiety",
        "reverse": False,
    }
    assert detail["scale"]["min"] == 1 and detail["scale"]["max"] == 7
    assert detail["metadata"]["dimensions"]["anxiety"]["provisional"] is True
    assert detail["versions"] == [1]
    assert client_api.get("/api/v1/instruments/ecr-r/", {"version": 1}).status_code == 200
    assert_error(client_api.get("/api/v1/instruments/ecr-r/", {"version": 2}), 404)
    assert_error(client_api.get("/api/v1/instruments/ecr-r/", {"version": "x"}), 400, fields=["version"])
    assert_error(client_api.get("/api/v1/instruments/nope/"), 404)


def test_our_own_instrument_has_real_wording_and_provisional_norms(client_api):
    detail = client_api.get("/api/v1/instruments/wmc/").json()
    assert all(not item["text"].startswith("wmc item") and len(item["text"]) > 20 for item in detail["items"])
    assert all(norm["provisional"] for norm in detail["metadata"]["dimensions"].values())
