"""The trends body and its OpenAPI declaration cannot drift: real responses validate against the served
schema with no undeclared properties, every required property present, and the serializer that writes
the body leaves the engine's report unchanged."""

import copy
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from openapi_schema_validator import OAS30Validator
from rest_framework.test import APIClient

from tests.factories import TherapistFactory, UserFactory
from tests.insights.trend_data import checkin, instrument, reglog
from tests.sharing.factories import ShareGrantFactory
from tracker.insights.selectors import trend_for_user
from tracker.insights.serializers import TrendsSerializer

pytestmark = pytest.mark.django_db


def strict(schema, components):
    """The schema with every $ref inlined and `additionalProperties: false` on each declared object."""
    if isinstance(schema, list):
        return [strict(item, components) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        merged = {**copy.deepcopy(components[name]), **{k: v for k, v in schema.items() if k != "$ref"}}
        return strict(merged, components)
    if schema.get("nullable") and len(schema.get("allOf", ())) == 1:
        # drf-spectacular's nullable reference, `{allOf: [$ref], nullable: true}`: OAS 3.0 means "the
        # referenced object or null", which the validator only understands with nullable on the object.
        rest = {k: v for k, v in schema.items() if k != "allOf"}
        return {**strict(schema["allOf"][0], components), **rest}
    out = {key: strict(value, components) for key, value in schema.items()}
    if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


@pytest.fixture(scope="module")
def spec(django_db_blocker):
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def response_schema(spec, path: str) -> dict:
    content = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    return strict(content["schema"], spec["components"]["schemas"])


def assert_valid(schema: dict, body) -> None:
    errors = sorted(OAS30Validator(schema).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:20])


def user_with_history():
    """Ten weeks of check-ins (RCI, Mann-Kendall and the slope all computed) and enough regulation
    logs for per-strategy figures."""
    user = UserFactory(timezone="Europe/Berlin")
    instr = instrument()
    now = timezone.now()
    for week in range(10):
        at = now - timedelta(weeks=9 - week, hours=3)
        for k in range(2):
            checkin(user, at - timedelta(days=k), 6 - week * 0.3, 5.5 - week * 0.25 + 0.1 * k, instr=instr)
        reglog(user, at, before=8, after=3, strategies=["breathing", "reappraisal"], reached_out=week % 2 == 0)
        reglog(user, at - timedelta(hours=1), before=6, after=None, strategies=["rumination"], recovery=20)
    return user


def bodies_for(user):
    api = APIClient()
    api.force_authenticate(user)
    response = api.get("/api/v1/trends/", {"weeks": 12})
    assert response.status_code == 200
    return response.json()


def test_trends_responses_validate_strictly_against_the_served_schema(spec):
    schema = response_schema(spec, "/api/v1/trends/")
    rich = bodies_for(user_with_history())
    assert rich["statistics"]["reliable_change"]["anxiety"]["rc"] is not None  # the full RCI branch
    assert rich["statistics"]["mann_kendall"]["method"] == "mann_kendall"
    assert rich["regulation"]["strategies"]
    assert_valid(schema, rich)

    empty = bodies_for(UserFactory())
    assert empty["direction"]["value"] == "insufficient_data"
    assert_valid(schema, empty)


def test_the_schema_check_catches_drift(spec):
    schema = response_schema(spec, "/api/v1/trends/")
    body = bodies_for(UserFactory())
    extra = copy.deepcopy(body)
    extra["direction"]["undeclared"] = 1
    missing = copy.deepcopy(body)
    del missing["quadrant"]["rule"]
    for broken in (extra, missing):
        assert list(OAS30Validator(schema).iter_errors(broken))


def test_the_serializer_writes_the_engines_report_unchanged():
    user = user_with_history()
    report = trend_for_user(user=user)
    assert json.loads(json.dumps(TrendsSerializer(report).data)) == json.loads(json.dumps(report))


def test_the_serializer_refuses_a_report_key_it_does_not_declare():
    report = trend_for_user(user=UserFactory())
    report["direction"]["undeclared"] = True
    with pytest.raises(TypeError, match="undeclared"):
        TrendsSerializer(report).data  # noqa: B018


@pytest.mark.parametrize("regulation_shared", [True, False])
def test_client_trends_validate_strictly_against_the_served_schema(spec, regulation_shared):
    client = user_with_history()
    therapist = TherapistFactory()
    ShareGrantFactory(client=client, therapist=therapist, scope_regulation_logs=regulation_shared)
    api = APIClient()
    api.force_authenticate(therapist)
    response = api.get(f"/api/v1/clients/{client.id}/trends/")
    assert response.status_code == 200
    body = response.json()
    assert (body["regulation"] is None) is not regulation_shared
    assert_valid(response_schema(spec, "/api/v1/clients/{client_id}/trends/"), body)


def test_the_summary_producer_writes_exactly_the_contract_and_the_api_declares_it(spec):
    from tests.notifications.factories import produce_summary
    from tracker.common.weeks import WEEK, local_week_start
    from tracker.insights.contracts import RegulationFigures, WeeklySummaryPayload
    from tracker.insights.serializers import RegulationSerializer, WeeklySummaryPayloadSerializer

    def keys(typed_dict) -> set[str]:
        return set(typed_dict.__required_keys__ | typed_dict.__optional_keys__)

    assert set(WeeklySummaryPayloadSerializer().fields) == keys(WeeklySummaryPayload)
    assert set(RegulationSerializer().fields) == keys(RegulationFigures)

    user = user_with_history()
    week = local_week_start(timezone.now(), user.timezone) - WEEK
    payload = produce_summary(user, week_start=week).payload
    assert set(payload) == keys(WeeklySummaryPayload)
    assert set(payload["regulation"]) == keys(RegulationFigures)

    api = APIClient()
    api.force_authenticate(user)
    label = f"{week.isocalendar().year}-W{week.isocalendar().week:02d}"
    body = api.get(f"/api/v1/summaries/{label}/").json()
    assert body["payload"] == json.loads(json.dumps(payload))
    content = spec["paths"]["/api/v1/summaries/{week}/"]["get"]["responses"]["200"]["content"]["application/json"]
    assert_valid(strict(content["schema"], spec["components"]["schemas"]), body)
