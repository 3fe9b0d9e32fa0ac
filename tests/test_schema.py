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
