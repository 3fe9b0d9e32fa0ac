"""FHIR R4 export: `GET me/export?format=fhir` and a therapist's `GET clients/<id>/export`.

Bundles are parsed back with `fhir.resources` (the R4B models, which validate the R4 resources used
here: types, cardinalities, required elements, choice types) and compared with what the JSON API
answers for the same records. The client is the `seed_demo` client plus check-ins on the shipped
ECR-S, ECR-RS and RQ scoring keys (with a clinic's wording loaded, as a deployment does)."""

from __future__ import annotations

import io
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import time_machine
from django.core.management import call_command
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from rest_framework.test import APIClient

from tests.conftest import api_for
from tests.entries.entry_factories import checkin_body, local_time, make_checkin
from tests.factories import UserFactory
from tests.helpers import assert_error, load_licensed_wording
from tests.sharing.factories import RegulationLogFactory
from tracker.data_rights import fhir
from tracker.entries.services.instruments import definitions_read
from tracker.models import AccessLogEntry, CheckIn, Instrument, ShareGrant, User
from tracker.sharing.services import grant_revoke, invite_accept, invite_create

pytestmark = pytest.mark.django_db

EXPORT = "/api/v1/me/export/"
FHIR = "application/fhir+json"
SHIPPED = {d["code"]: d for d in definitions_read()}


def client_export(client_id) -> str:
    return f"/api/v1/clients/{client_id}/export/"


def parse(response) -> Bundle:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == FHIR
    assert_no_empty_elements(json.loads(response.content))
    bundle = Bundle.model_validate_json(response.content)  # raises on anything R4(B) does not allow
    assert bundle.type == "collection"
    return bundle


def assert_no_empty_elements(value, path="$") -> None:
    """FHIR JSON has no nulls, empty strings, arrays or objects (the models accept some nulls)."""
    assert value is not None and value != "" and value != [] and value != {}, path
    if isinstance(value, dict):
        for key, child in value.items():
            assert_no_empty_elements(child, f"{path}.{key}")
    elif isinstance(value, list):
        for n, child in enumerate(value):
            assert_no_empty_elements(child, f"{path}[{n}]")


def by_type(bundle: Bundle) -> dict[str, list]:
    kinds: dict[str, list] = {}
    for entry in bundle.entry or []:
        kinds.setdefault(entry.resource.get_resource_type(), []).append(entry.resource)
    return kinds


def share(client: User, therapist: User, scopes=("checkins", "regulation_logs", "summaries"), **kw) -> ShareGrant:
    created = invite_create(client=client, scopes=list(scopes), **kw)
    return invite_accept(therapist=therapist, code=created.code, ip="127.0.0.1")


def assert_same_local_time(fhir_value: datetime, api_value: str) -> None:
    """The same instant and the same UTC offset (not only the same instant)."""
    expected = datetime.fromisoformat(api_value)
    assert fhir_value == expected
    assert fhir_value.utcoffset() == expected.utcoffset()


def all_pages(api, url: str) -> list[dict]:
    rows, next_url = [], url
    while next_url:
        body = api.get(next_url).json()
        rows += body["results"]
        next_url = body["next"]
    return rows


@pytest.fixture
def demo(tmp_path):
    """The demo client (ten weeks of wmc check-ins, regulation logs, a share) plus other instruments."""
    call_command("seed_demo", stdout=io.StringIO())
    load_licensed_wording(tmp_path, ("ecr-s", "ecr-rs", "rq"))
    client = User.objects.get(email="client@demo.securebase.local")
    api = APIClient()  # logs in as the demo does, with the demo password
    login = api.post("/api/v1/auth/login/", {"email": client.email, "password": "demo-client-pass-1"}, format="json")
    api.credentials(HTTP_AUTHORIZATION=f"Token {login.json()['token']}")
    ecr_s = [{"item": n, "value": (n * 3) % 7 + 1} for n in range(1, 13)]
    # ECR-RS: two of four targets answered (a partial global score).
    ecr_rs = [
        {"item": n, "value": v, "target": target}
        for target, base in (("partner", 2), ("mother", 5))
        for n, v in ((n, (base + n) % 7 + 1) for n in range(1, 10))
    ]
    rq = [{"item": 1, "value": 6}, {"item": 2, "value": 2}, {"item": 3, "value": 3}, {"item": 4, "value": 5}]
    for days, (code, responses) in enumerate((("ecr-s", ecr_s), ("ecr-rs", ecr_rs), ("rq", rq)), start=1):
        body = checkin_body(instrument=code, responses=responses, occurred_at=local_time(offset_minutes=-300))
        body["occurred_at"] = (datetime.fromisoformat(body["occurred_at"]) - timedelta(days=days)).isoformat()
        response = api.post("/api/v1/checkins/", body, format="json")
        assert response.status_code == 201, response.content
    return client, api


def test_the_demo_clients_bundle_validates_and_its_scores_equal_the_apis(demo):
    _client, api = demo
    bundle = parse(api.get(EXPORT + "?format=fhir"))
    kinds = by_type(bundle)
    checkins = all_pages(api, "/api/v1/checkins/?page_size=200")
    assert {c["instrument"] for c in checkins} == {"wmc", "ecr-s", "ecr-rs", "rq"}

    # One Questionnaire per instrument version used, canonical url + version.
    questionnaires = {(q.url, q.version): q for q in kinds["Questionnaire"]}
    assert set(questionnaires) == {(fhir.questionnaire_url(c), "1") for c in ("wmc", "ecr-s", "ecr-rs", "rq")}

    # One QuestionnaireResponse per check-in, pointing at its Questionnaire and holding its answers.
    responses = {r.identifier.value: r for r in kinds["QuestionnaireResponse"]}
    assert set(responses) == {c["id"] for c in checkins}
    observations = [o for o in kinds["Observation"] if o.code.coding[0].code != "regulation-episode"]
    full_urls = {e.resource.id: e.fullUrl for e in bundle.entry}
    scores: dict[tuple[str, str], object] = {}
    for observation in observations:
        checkin_id, name = observation.identifier[0].value.split("/")
        scores[(checkin_id, name)] = observation
        assert observation.category[0].coding[0].code == "survey"
        assert observation.code.coding[0].system == fhir.system("securebase")
        assert observation.derivedFrom[0].reference == full_urls[responses[checkin_id].id]

    for checkin in checkins:
        response = responses[checkin["id"]]
        assert response.questionnaire == f"{fhir.questionnaire_url(checkin['instrument'])}|1"
        assert_same_local_time(response.authored, checkin["occurred_at"])  # the phone's offset, as the API shows it
        answers = {}
        for item in response.item:
            for leaf in item.item or [item]:
                answers[leaf.linkId] = int(leaf.answer[0].valueCoding.code)
        expected = {
            (f"{r['target']}.{r['item']}" if "target" in r else str(r["item"])): r["value"]
            for r in checkin["responses"]
        }
        assert answers == expected
        api_scores = checkin["scores"]
        names = ["anxiety", "avoidance", "distance_to_secure"] + [
            n for n in ("model_of_self", "model_of_others") if n in api_scores
        ]
        assert {n for (cid, n) in scores if cid == checkin["id"]} == set(names)
        for name in names:
            observation = scores[(checkin["id"], name)]
            assert float(observation.valueQuantity.value) == api_scores[name], (checkin["instrument"], name)
            assert_same_local_time(observation.effectiveDateTime, checkin["occurred_at"])
        assert scores[(checkin["id"], "distance_to_secure")].interpretation[0].coding[0].code == api_scores["quadrant"]
        if checkin["instrument"] == "ecr-rs":
            assert api_scores["partial"] is True
            for name in ("anxiety", "avoidance"):
                parts = {
                    c.code.coding[0].code: float(c.valueQuantity.value) for c in scores[(checkin["id"], name)].component
                }
                assert parts == {t: s[name] for t, s in api_scores["targets"].items()}


def test_questionnaires_carry_the_shipped_scale_and_wording_only_where_loaded(demo):
    _client, api = demo
    kinds = by_type(parse(api.get(EXPORT + "?format=fhir")))
    questionnaires = {q.url.rsplit("/", 1)[1]: q for q in kinds["Questionnaire"]}
    wmc = questionnaires["wmc"]
    shipped = SHIPPED["wmc"]
    assert [i.text for i in wmc.item] == [i["text"] for i in shipped["items"]]
    anchors = shipped["scale"]["anchors"]
    options = wmc.item[0].answerOption
    scale = range(shipped["scale"]["min"], shipped["scale"]["max"] + 1)
    assert [int(o.valueCoding.code) for o in options] == list(scale)
    assert {o.valueCoding.code: o.valueCoding.display for o in options if o.valueCoding.display} == anchors
    assert [i.code[0].code for i in wmc.item] == [i["dimension"] for i in shipped["items"]]
    # ECR-RS: one group per relationship target of the shipped file, its items inside.
    ecr_rs = questionnaires["ecr-rs"]
    assert [g.linkId for g in ecr_rs.item] == SHIPPED["ecr-rs"]["targets"]
    assert [i.linkId for i in ecr_rs.item[0].item] == [f"mother.{n}" for n in range(1, 10)]


def test_placeholder_instruments_have_no_item_wording():
    """A shipped scoring key without a clinic's wording: its placeholders are not the instrument's text."""
    for code in ("ecr-r", "ecr-s", "ecr-rs", "rq"):
        instrument = Instrument.objects.get(code=code, version=1)
        built = Questionnaire.model_validate(fhir.questionnaire(instrument))
        leaves = [leaf for item in built.item for leaf in (item.item or [item])]
        assert len(leaves) == len(SHIPPED[code]["items"]) * max(1, len(SHIPPED[code].get("targets", [])))
        assert all(leaf.text is None for leaf in leaves), code
        assert built.version == "1" and built.url == fhir.questionnaire_url(code)


def test_regulation_episodes_are_observations_with_the_logs_values(demo):
    _client, api = demo
    logs = {log["id"]: log for log in all_pages(api, "/api/v1/regulation-logs/?page_size=200")}
    assert logs
    episodes = [
        o
        for o in by_type(parse(api.get(EXPORT + "?format=fhir")))["Observation"]
        if o.code.coding[0].code == "regulation-episode"
    ]
    assert {o.identifier[0].value for o in episodes} == set(logs)
    for episode in episodes:
        log = logs[episode.identifier[0].value]
        assert_same_local_time(episode.effectiveDateTime, log["occurred_at"])
        parts: dict[str, list] = {}
        for component in episode.component:
            coding = component.code.coding[0]
            key = coding.code if coding.system == fhir.system("securebase") else f"emotion:{coding.code}"
            value = (
                component.valueCodeableConcept.coding[0].code
                if component.valueCodeableConcept
                else component.valueQuantity.value
                if component.valueQuantity
                else component.valueBoolean
                if component.valueBoolean is not None
                else component.valueInteger
            )
            parts.setdefault(key, []).append(value)
        assert parts["trigger"] == [log["trigger"]]
        assert parts["trigger-target"] == [log["trigger_target"]]
        assert parts["intensity-before"] == [log["intensity_before"]]
        assert parts["intensity-after"] == [log["intensity_after"]]
        assert parts["strategy"] == log["strategies"]
        assert parts["reached-out"] == [log["reached_out"]]
        assert [int(v) for v in parts["recovery-minutes"]] == [log["recovery_minutes"]]
        assert {k.split(":")[1]: v[0] for k, v in parts.items() if k.startswith("emotion:")} == {
            e["label"]: e["intensity"] for e in log["emotions"]
        }


def test_each_share_is_a_consent_with_its_scopes_and_the_therapist_as_actor(client_user, therapist, other_therapist):
    make_checkin(client_user)
    live = share(client_user, therapist)
    ended = share(client_user, other_therapist, scopes=("checkins",))
    grant_revoke(grant=ended)
    kinds = by_type(parse(api_for(client_user).get(EXPORT + "?format=fhir")))
    practitioners = {p.identifier[0].value: p for p in kinds["Practitioner"]}
    assert set(practitioners) == {str(therapist.id), str(other_therapist.id)}
    consents = {c.identifier[0].value: c for c in kinds["Consent"]}
    assert set(consents) == {str(live.id), str(ended.id)}
    assert consents[str(live.id)].status == "active"
    assert consents[str(ended.id)].status == "inactive"
    assert consents[str(ended.id)].provision.period.end is not None
    for grant in (live, ended):
        consent = consents[str(grant.id)]
        assert [c.code for c in consent.provision.class_fhir] == grant.scopes
        actor = consent.provision.actor[0]
        assert actor.role.coding[0].code == "IRCP"
        assert actor.reference.reference == f"urn:uuid:{practitioners[str(grant.therapist_id)].id}"
        assert consent.patient.reference == f"urn:uuid:{kinds['Patient'][0].id}"


@pytest.mark.parametrize("zone_offset", [60, 120, -300, 330])
def test_consent_status_follows_the_clock_and_times_keep_the_phones_offset(client_user, therapist, zone_offset):
    """Across an expiry (frozen clock) and in several offsets: Berlin winter/summer, New York, Kolkata."""
    start = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # the night Berlin springs forward
    with time_machine.travel(start, tick=False):
        make_checkin(client_user, occurred_at=start - timedelta(minutes=5))
        CheckIn.objects.filter(user=client_user).update(utc_offset_minutes=zone_offset)
        grant = share(client_user, therapist, grant_expires_at=start + timedelta(hours=2))
        bundle = parse(api_for(client_user).get(EXPORT + "?format=fhir"))
        consent = by_type(bundle)["Consent"][0]
        assert consent.status == "active"
        authored = by_type(bundle)["QuestionnaireResponse"][0].authored
        local = (start - timedelta(minutes=5)).astimezone(dt_timezone(timedelta(minutes=zone_offset)))
        assert_same_local_time(authored, local.isoformat())
        assert datetime.fromisoformat(str(bundle.timestamp)) == start
    with time_machine.travel(start + timedelta(hours=2, seconds=1), tick=False):
        consent = by_type(parse(api_for(client_user).get(EXPORT + "?format=fhir")))["Consent"][0]
        assert consent.status == "inactive"
        assert consent.identifier[0].value == str(grant.id)


def test_unknown_format_is_a_400_and_the_json_export_is_unchanged(client_user):
    api = api_for(client_user)
    make_checkin(client_user)
    for bad in ("xml", "FHIR", "api"):
        response = api.get(EXPORT + f"?format={bad}")
        body = assert_error(response, 400, "validation_error", ["format"])
        assert response["Content-Type"] == "application/json", bad
        assert "fhir" in body["fields"]["format"][0]
    plain = api.get(EXPORT)
    as_json = api.get(EXPORT + "?format=json")
    # An empty query parameter is left out, as everywhere in the API (docs/mobile.md).
    empty = api.get(EXPORT + "?format=")
    assert plain["Content-Type"] == as_json["Content-Type"] == empty["Content-Type"] == "application/json"
    plain_body, json_body = plain.json(), as_json.json()
    plain_body.pop("exported_at"), json_body.pop("exported_at")
    assert plain_body == json_body
    assert plain_body["format_version"] == 1 and "resourceType" not in plain_body
    # FHIR clients ask with Accept instead of the parameter.
    assert parse(api.get(EXPORT, HTTP_ACCEPT=FHIR)).type == "collection"


def test_errors_on_the_fhir_routes_keep_the_json_error_shape(anon_api, client_user):
    response = anon_api.get(EXPORT + "?format=fhir")
    assert_error(response, 401)
    assert response["Content-Type"] == "application/json"
    response = anon_api.get(client_export(client_user.id))
    assert_error(response, 401)
    assert response["Content-Type"] == "application/json"


def test_therapist_export_holds_only_the_shared_scopes_and_is_logged(client_user, therapist, other_client):
    make_checkin(client_user, note="private words")
    RegulationLogFactory(user=client_user, note="also private")
    make_checkin(other_client)
    grant = share(client_user, therapist, scopes=("checkins",))
    api = api_for(therapist)
    bundle = parse(api.get(client_export(client_user.id)))
    kinds = by_type(bundle)
    assert len(kinds["QuestionnaireResponse"]) == 1
    assert all(o.code.coding[0].code != "regulation-episode" for o in kinds["Observation"])
    assert [c.identifier[0].value for c in kinds["Consent"]] == [str(grant.id)]
    assert kinds["Patient"][0].identifier[0].value == str(client_user.id)
    assert b"private" not in api.get(client_export(client_user.id)).content  # notes never travel
    logged = AccessLogEntry.objects.filter(grant=grant, resource="export", channel="api")
    assert logged.count() == 2
    # The client sees the export in their access log.
    rows = api_for(client_user).get(f"/api/v1/shares/{grant.id}/access-log/").json()["results"]
    assert {row["resource"] for row in rows} == {"export"}
    assert parse(api.get(client_export(client_user.id) + "?format=fhir")).type == "collection"
    assert_error(api.get(client_export(client_user.id) + "?format=json"), 400, "validation_error", ["format"])

    # Regulation scope only: episodes, no check-ins.
    grant.set_scopes(["regulation_logs"])
    grant.save()
    kinds = by_type(parse(api.get(client_export(client_user.id))))
    assert "QuestionnaireResponse" not in kinds and "Questionnaire" not in kinds
    assert [o.code.coding[0].code for o in kinds["Observation"]] == ["regulation-episode"]


def test_therapist_export_is_a_404_for_anything_not_shared(client_user, therapist, other_therapist, other_client):
    grant = share(client_user, therapist)
    assert_error(api_for(other_therapist).get(client_export(client_user.id)), 404)
    assert_error(api_for(therapist).get(client_export(other_client.id)), 404)
    assert_error(api_for(therapist).get(client_export(uuid.uuid4())), 404)
    assert_error(api_for(client_user).get(client_export(client_user.id)), 404)
    grant.set_scopes(["notes"])  # notes alone reach no data
    grant.save()
    assert_error(api_for(therapist).get(client_export(client_user.id)), 404)
    grant.set_scopes(["checkins"])
    grant.save()
    grant_revoke(grant=grant)
    assert_error(api_for(therapist).get(client_export(client_user.id)), 404)
    assert not AccessLogEntry.objects.filter(resource="export").exists()


def test_no_health_data_in_logs(demo, caplog):
    _client, api = demo
    caplog.set_level(logging.DEBUG)
    response = api.get(EXPORT + "?format=fhir")
    assert response.status_code == 200
    logged = caplog.text
    body = json.loads(response.content)
    for entry in body["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Observation" and "valueQuantity" in resource:
            assert f"{resource['valueQuantity']['value']}" not in logged
    assert "partner" not in logged and "Demo Client" not in logged


def test_query_count_does_not_grow_with_the_records(client_user, therapist, django_assert_max_num_queries):
    api = api_for(client_user)
    share(client_user, therapist)
    counts = []
    for size in (2, 12):
        for n in range(size):
            make_checkin(client_user, occurred_at=datetime.now(UTC) - timedelta(days=n, hours=n))
            RegulationLogFactory(user=client_user, change_seq=10_000 + size * 100 + n)
        with django_assert_max_num_queries(20) as captured:
            assert api.get(EXPORT + "?format=fhir").status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1], counts


def test_the_schema_documents_the_format_parameter_and_the_fhir_media_type(tmp_path):
    out = tmp_path / "schema.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(out))
    paths = json.loads(out.read_text())["paths"]
    me = paths["/api/v1/me/export/"]["get"]
    fmt = next(p for p in me["parameters"] if p["name"] == "format")
    assert fmt["in"] == "query" and set(fmt["schema"]["enum"]) == {"json", "fhir"}
    assert set(me["responses"]["200"]["content"]) == {"application/json", FHIR}
    assert "400" in me["responses"]
    therapist = paths["/api/v1/clients/{client_id}/export/"]["get"]
    assert set(therapist["responses"]["200"]["content"]) == {FHIR}
    assert {"400", "401", "404"} <= set(therapist["responses"])
    # Errors are our JSON error shape, whatever the route's success media type (schemathesis checks it).
    for operation in (me, therapist):
        errors = {status: r for status, r in operation["responses"].items() if status.startswith(("4", "5"))}
        assert {"400", "401"} <= set(errors)
        assert all(set(r["content"]) == {"application/json"} for r in errors.values()), errors


def test_a_different_base_url_moves_every_canonical(settings, client_user):
    settings.FHIR_BASE_URL = "https://clinic.example.org/fhir/"
    make_checkin(client_user)
    kinds = by_type(parse(api_for(client_user).get(EXPORT + "?format=fhir")))
    assert kinds["Questionnaire"][0].url == "https://clinic.example.org/fhir/Questionnaire/wmc"
    assert kinds["QuestionnaireResponse"][0].questionnaire == "https://clinic.example.org/fhir/Questionnaire/wmc|1"
    assert kinds["Observation"][0].code.coding[0].system == "https://clinic.example.org/fhir/CodeSystem/securebase"


def test_exporting_twice_gives_the_same_resource_ids(client_user):
    make_checkin(client_user)
    RegulationLogFactory(user=client_user)
    api = api_for(client_user)
    first, second = (parse(api.get(EXPORT + "?format=fhir")) for _ in range(2))
    assert [e.fullUrl for e in first.entry] == [e.fullUrl for e in second.entry]
    assert len({e.fullUrl for e in first.entry}) == len(first.entry)


def test_users_without_a_display_name_and_other_users(client_user):
    """Only the requesting user's records, whoever else has data."""
    stranger = UserFactory()
    make_checkin(stranger)
    RegulationLogFactory(user=stranger)
    kinds = by_type(parse(api_for(client_user).get(EXPORT + "?format=fhir")))
    assert set(kinds) == {"Patient"}
