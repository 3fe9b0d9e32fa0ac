import json
import re

import pytest
import yaml
from django.core.management import call_command
from openapi_spec_validator import validate

from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def test_schema_generates_without_warnings_and_is_valid_openapi_3(tmp_path):
    out = tmp_path / "schema.yml"
    # --fail-on-warn turns any drf-spectacular warning into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    spec = yaml.safe_load(out.read_text())
    validate(spec)
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/auth/login/" in spec["paths"]
    login = spec["paths"]["/api/v1/auth/login/"]["post"]
    assert {"200", "400", "401", "429"} <= set(login["responses"])
    error = spec["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["$ref"].endswith("ErrorDetail")


def test_schema_endpoint_serves_json(anon_api):
    response = anon_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert b"/api/v1/me" in response.content


def test_docs_page_loads_its_assets_locally(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui" in s for s in sources), sources
    assert all(not s.startswith(("http://", "https://", "//")) for s in sources), sources
    for source in sources:
        if source.startswith("/static/"):
            assert client.get(source).status_code == 200, source


def test_there_is_no_redoc_page_whose_fonts_come_from_a_cdn(client_api):
    """ReDoc was removed (drf-spectacular's page links Google Fonts); Swagger UI is the offline docs."""
    response = client_api.get("/api/redoc/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


@pytest.fixture
def spec(tmp_path):
    out = tmp_path / "schema.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(out))

    return json.loads(out.read_text())


def test_sync_push_items_are_a_union_discriminated_by_type(spec):
    schemas = spec["components"]["schemas"]
    batch = schemas["SyncPushBatch"]["properties"]["items"]
    assert batch["items"]["$ref"] == "#/components/schemas/SyncPushItem"
    item = schemas["SyncPushItem"]
    assert item["discriminator"] == {
        "propertyName": "type",
        "mapping": {
            "checkin": "#/components/schemas/SyncCheckInPushItem",
            "regulation_log": "#/components/schemas/SyncRegulationLogPushItem",
        },
    }
    for value, name, record in (
        ("checkin", "SyncCheckInPushItem", "CheckInCreate"),
        ("regulation_log", "SyncRegulationLogPushItem", "RegulationLogCreate"),
    ):
        variant = schemas[name]
        assert variant["properties"]["type"] == {"type": "string", "enum": [value]}
        assert {"type", "op", "id"} <= set(variant["required"])
        assert "record" not in variant["required"]  # deletes carry none
        assert variant["properties"]["record"]["allOf"][0]["$ref"] == f"#/components/schemas/{record}"
        assert variant["properties"]["op"]["allOf"][0]["$ref"] == "#/components/schemas/SyncPushOp"


def test_optional_request_fields_carry_no_default_that_generators_read_as_required(spec):
    schemas = spec["components"]["schemas"]
    note = schemas["CheckInCreate"]["properties"]["note"]
    assert "note" not in schemas["CheckInCreate"]["required"]
    assert "default" not in note and 'Default when left out: `""`' in note["description"]
    assert "default" not in schemas["RegisterRequest"]["properties"]["timezone"]
    request_bodies = {
        op["requestBody"]["content"]["application/json"]["schema"].get("$ref", "").rsplit("/", 1)[-1]
        for ops in spec["paths"].values()
        for op in ops.values()
        if isinstance(op, dict) and "requestBody" in op
    }
    for name in request_bodies - {""}:
        for prop in schemas[name].get("properties", {}).values():
            assert "default" not in prop, name


# Names drf-spectacular makes up when it cannot tell what a schema is; a developer would not write them.
GENERATED_NAMES = re.compile(r"^(BlankEnum|NullEnum|TypeEnum|Item|Result|Patched\w+|\w+Request|\w+[0-9a-f]{3}Enum)$")


def test_component_names_are_ones_a_developer_would_write(spec):
    names = set(spec["components"]["schemas"])
    generated = sorted(n for n in names if GENERATED_NAMES.match(n))
    # Input-only shapes may keep drf-spectacular's "…Request" name (e.g. LoginRequest); nothing else.
    assert [n for n in generated if not n.endswith("Request")] == []
    # One enum per concept: no two enum components hold the same values.
    enums = {n: tuple(s["enum"]) for n, s in spec["components"]["schemas"].items() if "enum" in s}
    by_values: dict[tuple, list[str]] = {}
    for name, values in enums.items():
        by_values.setdefault(tuple(sorted(values)), []).append(name)
    # Two concepts that happen to hold the same values: the role one registers as, and who ended a share.
    distinct_concepts = [["RegisterRoleEnum", "RevokedByEnum"]]
    assert [
        sorted(names) for names in by_values.values() if len(names) > 1 and sorted(names) not in distinct_concepts
    ] == []
    # The two channel concepts have names that say which one they are; the vocabularies one each.
    assert {"AccessChannelEnum", "DeliveryChannelEnum", "StrategyEnum", "TriggerEnum", "ScopeEnum"} <= names
    assert not names & {"ChannelEnum", "ChannelsEnum", "StrategiesEnum", "ScopesEnum"}


def test_query_filters_over_a_vocabulary_refer_to_its_enum(spec):
    params = {p["name"]: p for p in spec["paths"]["/api/v1/regulation-logs/"]["get"]["parameters"]}
    assert params["strategy"]["schema"] == {"$ref": "#/components/schemas/StrategyEnum"}
    assert params["trigger"]["schema"] == {"$ref": "#/components/schemas/TriggerEnum"}
    inline = [
        (path, method, p["name"])
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        for p in op.get("parameters", [])
        # `format` chooses a representation (json/fhir), not a value of a vocabulary.
        if "enum" in p.get("schema", {}) and len(p["schema"]["enum"]) > 1 and p["name"] != "format"
    ]
    assert inline == []


VERBS = ("list", "get", "create", "update", "replace", "delete", "mark", "end", "accept", "export", "sync")
# Clinic and second-factor actions are verbs of their own (suspendMember, verifyLicence, joinClinic…).
VERBS += ("start", "confirm", "record", "verify", "suspend", "reinstate", "join", "acknowledge")
ACTIONS = {"register", "login", "loginSecondStep", "logout", "logoutAll"}


def test_operation_ids_are_camel_case_unique_and_say_what_they_do(spec):
    ids = [(path, method, op["operationId"]) for path, ops in spec["paths"].items() for method, op in ops.items()]
    assert len({i for _, _, i in ids}) == len(ids)
    for path, method, operation_id in ids:
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)*", operation_id), (path, operation_id)
        assert operation_id in ACTIONS or operation_id.startswith(VERBS), (path, operation_id)
        # The resource the path names appears in the id (shares/invites → …ShareInvite…).
        resource = next(s for s in reversed(path.strip("/").split("/")) if not s.startswith("{"))
        stem = re.sub(r"(ies|s)$", "", resource.replace("-", "")).lower()
        if operation_id not in ACTIONS and resource not in ("me", "mfa", "read-all", "read", "opened", "export"):
            assert stem[:5] in operation_id.lower(), (path, method, operation_id)
    by_route = {(path, method): operation_id for path, method, operation_id in ids}
    assert by_route[("/api/v1/devices/", "delete")] == "deleteDeviceByToken"
    assert by_route[("/api/v1/shares/invites/", "post")] == "createShareInvite"


def _validator_for(spec, component: str):
    """A JSON Schema validator of one request component, refs resolved against the served spec."""
    from jsonschema import Draft4Validator

    schema = {**spec["components"]["schemas"][component], "components": spec["components"]}
    return Draft4Validator(schema)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field, value",
    [
        ("locale", "   "),
        ("locale", "en\x00"),
        ("display_name", "Sam\x00"),
        ("display_name", 0),
        ("locale", 1.5),
        ("timezone", "Mars/Olympus"),
    ],
)
def test_the_schema_refuses_what_the_server_refuses_in_a_profile(client_api, spec, field, value):
    validator = _validator_for(spec, "MePatch")
    assert not validator.is_valid({field: value})
    assert_error(client_api.patch("/api/v1/me/", {field: value}, format="json"), 400, fields=[field])


@pytest.mark.django_db
def test_the_schema_accepts_what_the_server_accepts_in_a_profile(client_api, spec):
    body = {"locale": " de ", "display_name": "", "timezone": "America/St_Johns"}
    assert _validator_for(spec, "MePatch").is_valid(body)
    assert client_api.patch("/api/v1/me/", body, format="json").status_code == 200


def test_timezones_are_the_installed_iana_names(spec):
    from tracker.common.timezones import available_timezones

    zones = spec["components"]["schemas"]["TimezoneEnum"]
    assert set(zones["enum"]) == available_timezones()
    # Constant names for generators, distinct where theirs would collide (GMT0 / GMT-0 / GMT+0).
    assert len(set(zones["x-enum-varnames"])) == len(zones["enum"])
    names = dict(zip(zones["enum"], zones["x-enum-varnames"], strict=True))
    assert names["Etc/GMT-0"] != names["Etc/GMT+0"] != names["Etc/GMT0"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change, field",
    [
        ({"times": ["09:00", "09:00"]}, "times"),
        ({"times": ["9:05"]}, "times.0"),
        ({"times": ["09:00:00"]}, "times.0"),
        ({"weekdays": [1, 1]}, "weekdays"),
        ({"channels": ["push", "push"]}, "channels"),
    ],
)
def test_reminder_lists_are_unique_and_times_hh_mm_in_schema_and_server(client_api, spec, change, field):
    body = {"times": ["09:00"], "weekdays": [1, 2], **change}
    assert not _validator_for(spec, "ReminderScheduleInputRequest").is_valid(body)
    assert_error(client_api.put("/api/v1/reminders/", body, format="json"), 400, fields=[field])
    props = spec["components"]["schemas"]["ReminderScheduleInputRequest"]["properties"]
    assert props[field.split(".")[0]]["uniqueItems"] is True


@pytest.mark.django_db
def test_registration_declares_the_password_rules_it_can(spec, anon_api):
    password = spec["components"]["schemas"]["RegisterRequest"]["properties"]["password"]
    assert password["minLength"] == 10
    body = {"email": "digits@example.org", "password": "1234567890"}
    assert not _validator_for(spec, "RegisterRequest").is_valid(body)
    assert_error(anon_api.post("/api/v1/auth/register/", body, format="json"), 400, fields=["password"])
