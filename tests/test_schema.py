import re

import pytest
import yaml
from django.core.management import call_command
from openapi_spec_validator import validate

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


@pytest.fixture
def spec(tmp_path):
    out = tmp_path / "schema.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(out))
    import json

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
