"""`/api/v1/regulation-logs/` and `/api/v1/vocabularies/`: episodes logged while they happen, completed
later, filtered lists, the safety signal with crisis resources."""

import json
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from notifications.scheduler import run_tick
from tests.entries.entry_factories import local_time
from tests.helpers import assert_error
from tracker.entries import vocabularies
from tracker.entries.services.regulation import regulation_log_create, safety_sweep_job
from tracker.models import RegulationLog

pytestmark = pytest.mark.django_db

URL = "/api/v1/regulation-logs/"


def detail(log_id) -> str:
    return f"{URL}{log_id}/"


def log_body(**overrides) -> dict:
    body = {
        "id": str(uuid.uuid4()),
        "occurred_at": local_time(timezone.now() - timedelta(minutes=30)),
        "trigger": "uncertainty",
        "trigger_target": "partner",
        "emotions": [{"label": "fear", "intensity": 7}, {"label": "anger", "intensity": 3}],
        "intensity_before": 7,
        "intensity_after": 4,
        "strategies": ["breathing", "reassurance_seeking"],
        "reached_out": True,
        "reached_out_helped": True,
        "recovery_minutes": 25,
        "note": "No reply for hours.",
    }
    body.update(overrides)
    return body


def make_log(user, **fields):
    body = log_body(**fields)
    from tracker.entries.serializers.regulation import RegulationLogWriteSerializer

    data = RegulationLogWriteSerializer(data=body)
    data.is_valid(raise_exception=True)
    outcome = regulation_log_create(user=user, **data.validated_data)
    assert outcome.status == "created"
    return outcome.row


def test_create_full_log(client_api, client_user):
    body = log_body()
    response = client_api.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["trigger"] == "uncertainty" and data["trigger_target"] == "partner"
    assert data["emotions"] == [{"label": "anger", "intensity": 3}, {"label": "fear", "intensity": 7}]
    assert data["strategies"] == ["breathing", "reassurance_seeking"]
    assert data["strategy_families"] == ["interpersonal", "self_soothing"]
    assert (data["reached_out"], data["reached_out_helped"], data["recovery_minutes"]) == (True, True, 25)
    assert data["complete"] is True and data["safety_flag"] is False and data["crisis_resources"] is None
    assert data["occurred_at"] == body["occurred_at"] and data["utc_offset_minutes"] == 60
    log = RegulationLog.objects.get(id=body["id"])
    assert log.user == client_user and log.note == "No reply for hours."


def test_retry_is_200_and_a_changed_body_is_409(client_api):
    body = log_body()
    assert client_api.post(URL, body, format="json").status_code == 201
    # Lists in another order are the same log.
    reordered = {**body, "strategies": list(reversed(body["strategies"])), "emotions": body["emotions"][::-1]}
    assert client_api.post(URL, reordered, format="json").status_code == 200
    assert_error(client_api.post(URL, {**body, "intensity_after": 2}, format="json"), 409, "conflict")
    assert RegulationLog.objects.count() == 1


def test_partial_log_is_completed_later_even_after_the_edit_window(client_api):
    body = log_body(intensity_after=None, recovery_minutes=None, reached_out=None, reached_out_helped=None)
    with time_machine.travel(timezone.now() - timedelta(hours=30)):
        body["occurred_at"] = local_time(timezone.now() - timedelta(minutes=5))
        created = client_api.post(URL, body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["complete"] is False

    # Past the 24 h window: completing empty fields is fine ...
    done = client_api.patch(
        detail(body["id"]),
        {"intensity_after": 3, "recovery_minutes": 40, "reached_out": True, "reached_out_helped": False},
        format="json",
    )
    assert done.status_code == 200, done.content
    assert done.json()["complete"] is True and done.json()["revision"] == 2
    # ... changing what was already recorded is not.
    assert_error(client_api.patch(detail(body["id"]), {"intensity_after": 2}, format="json"), 409, "edit_window_closed")
    assert_error(
        client_api.patch(detail(body["id"]), {"trigger": "conflict"}, format="json"), 409, "edit_window_closed"
    )
    assert RegulationLog.objects.get(id=body["id"]).intensity_after == 3


def test_edit_within_the_window(client_api, client_user):
    log = make_log(client_user)
    response = client_api.patch(detail(log.id), {"strategies": ["rumination"], "revision": 1}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["strategy_families"] == ["perseveration"]
    assert_error(client_api.patch(detail(log.id), {"note": "x", "revision": 1}, format="json"), 409, "stale_revision")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"intensity_before": 11}, "intensity_before"),
        ({"intensity_before": -1}, "intensity_before"),
        ({"intensity_after": 11}, "intensity_after"),
        ({"intensity_before": "7"}, "intensity_before"),
        ({"intensity_before": None}, "intensity_after"),  # after without before
        ({"emotions": [{"label": "ennui", "intensity": 3}]}, "emotions.0.label"),
        ({"emotions": [{"label": "fear", "intensity": 12}]}, "emotions.0.intensity"),
        ({"emotions": [{"label": "fear", "intensity": 2}, {"label": "fear", "intensity": 3}]}, "emotions"),
        ({"emotions": "fear"}, "emotions"),
        ({"strategies": ["telepathy"]}, "strategies.0"),
        ({"strategies": ["breathing", "breathing"]}, "strategies"),
        ({"strategies": [3]}, "strategies.0"),
        ({"trigger": "weather"}, "trigger"),
        ({"trigger": None}, "trigger"),
        ({"trigger_target": "boss"}, "trigger_target"),
        ({"reached_out": False, "reached_out_helped": True}, "reached_out_helped"),
        ({"reached_out": "yes"}, "reached_out"),
        ({"recovery_minutes": -5}, "recovery_minutes"),
        ({"recovery_minutes": 10 * 24 * 60}, "recovery_minutes"),
        ({"occurred_at": "2999-01-01T00:00:00+00:00"}, "occurred_at"),
        ({"occurred_at": "2026-01-01T00:00:00"}, "occurred_at"),
        ({"safety": "no"}, "safety"),
        ({"id": "123"}, "id"),
    ],
)
def test_every_field_is_validated_and_nothing_is_stored(client_api, overrides, field):
    assert_error(client_api.post(URL, log_body(**overrides), format="json"), 400, "validation_error", fields=[field])
    assert RegulationLog.objects.count() == 0


def test_missing_required_fields_are_named(client_api):
    error = assert_error(client_api.post(URL, {}, format="json"), 400)
    assert {"id", "occurred_at", "trigger"} <= set(error["fields"])


def test_patch_checks_rules_across_fields_on_the_merged_log(client_api, client_user):
    log = make_log(client_user, intensity_before=None, intensity_after=None)
    assert_error(
        client_api.patch(detail(log.id), {"intensity_after": 3}, format="json"), 400, fields=["intensity_after"]
    )
    assert (
        client_api.patch(detail(log.id), {"intensity_before": 8, "intensity_after": 3}, format="json").status_code
        == 200
    )


def test_list_filters_since_until_strategy_trigger(client_api, client_user, other_client):
    base = (timezone.now() - timedelta(days=5)).replace(microsecond=0)
    a = make_log(client_user, occurred_at=local_time(base), strategies=["breathing"], trigger="conflict")
    b = make_log(client_user, occurred_at=local_time(base + timedelta(days=1)), strategies=["worry", "breathing"])
    c = make_log(client_user, occurred_at=local_time(base + timedelta(days=2)), strategies=["worry"])
    make_log(other_client, strategies=["breathing"])

    def ids(**params):
        response = client_api.get(URL, params)
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["results"]]

    assert ids() == [str(c.id), str(b.id), str(a.id)]
    assert ids(strategy="breathing") == [str(b.id), str(a.id)]
    assert ids(strategy="worry", since=(base + timedelta(days=2)).isoformat()) == [str(c.id)]
    assert ids(trigger="conflict") == [str(a.id)]
    assert ids(until=(base + timedelta(hours=1)).isoformat()) == [str(a.id)]
    assert_error(client_api.get(URL, {"strategy": "telepathy"}), 400, fields=["strategy"])
    assert_error(client_api.get(URL, {"trigger": "weather"}), 400, fields=["trigger"])


def test_other_users_logs_are_404_and_delete_leaves_a_tombstone(client_api, other_client_api, client_user):
    log = make_log(client_user)
    assert_error(other_client_api.get(detail(log.id)), 404)
    assert_error(other_client_api.patch(detail(log.id), {"note": "x"}, format="json"), 404)
    assert_error(other_client_api.delete(detail(log.id)), 404)
    assert client_api.delete(detail(log.id)).status_code == 204
    assert_error(client_api.get(detail(log.id)), 404)
    assert RegulationLog.objects.get(id=log.id).deleted_at is not None
    assert client_api.get(URL).json()["results"] == []


def test_list_query_count_does_not_grow_with_page_size(client_api, client_user, django_assert_max_num_queries):
    for _ in range(25):
        make_log(client_user)
    for size in (5, 25):
        with django_assert_max_num_queries(3):  # knox token (2), page
            response = client_api.get(URL, {"page_size": size})
        assert len(response.json()["results"]) == size


# --- Safety ----------------------------------------------------------------------------------------
def test_a_yes_to_the_safety_question_flags_the_log_and_returns_crisis_resources(client_api, client_user):
    client_user.locale = "en-GB"
    client_user.save()
    response = client_api.post(URL, log_body(safety=True), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["safety"] is True and data["safety_flag"] is True
    resources = data["crisis_resources"]
    assert resources["country"] == "GB" and resources["last_checked"]
    assert any(r.get("phone") == "116 123" for r in resources["resources"])
    assert "not monitored in real time" in resources["message"]
    # Detail repeats them; lists do not carry them.
    assert client_api.get(detail(data["id"])).json()["crisis_resources"]["country"] == "GB"
    assert "crisis_resources" not in client_api.get(URL).json()["results"][0]


def test_unknown_locale_gets_the_international_default(client_api, client_user):
    client_user.locale = "xx"
    client_user.save()
    resources = client_api.post(URL, log_body(safety=True), format="json").json()["crisis_resources"]
    assert resources["country"] is None
    assert any("findahelpline" in r.get("url", "") for r in resources["resources"])


def test_crisis_resources_come_from_a_configurable_file(client_api, client_user, tmp_path):
    table = {
        "default": {
            "message": "Call the clinic line.",
            "resources": [{"name": "Clinic", "phone": "555"}],
            "last_checked": "2026-11-01",
        }
    }
    path = tmp_path / "crisis.json"
    path.write_text(json.dumps(table))
    with override_settings(CRISIS_RESOURCES_FILE=path):
        resources = client_api.post(URL, log_body(safety=True), format="json").json()["crisis_resources"]
    assert resources == {"country": None, **table["default"]}


@pytest.mark.parametrize(
    ("locale", "country", "expected_phone", "expected_country"),
    [
        ("en", "US", "988", "US"),  # a US user left on the default locale
        ("es-US", "", "988", "US"),  # Spanish speaker in the US: chosen by country, not language
        ("fr-CA", "", "988", "CA"),
        ("en-IE", "", "116 123", "IE"),
        ("de-AT", "", "142", "AT"),
        ("en-GB", "DE", "0800 111 0 111", "DE"),  # the profile country wins over the locale's region
        ("en", "", "112", None),
    ],
)
def test_crisis_resources_follow_the_users_country(
    client_api, client_user, locale, country, expected_phone, expected_country
):
    client_user.locale, client_user.country = locale, country
    client_user.save()
    resources = client_api.post(URL, log_body(safety=True), format="json").json()["crisis_resources"]
    assert resources["country"] == expected_country
    assert any(r.get("phone") == expected_phone for r in resources["resources"])
    assert resources["last_checked"]


def test_crisis_resources_endpoint_for_offline_caching(client_api, client_user, anon_api):
    client_user.country = "US"
    client_user.save()
    mine = client_api.get("/api/v1/crisis-resources/")
    assert mine.status_code == 200 and mine.json()["country"] == "US" and mine.json()["last_checked"]
    assert any(r.get("phone") == "988" for r in mine.json()["resources"])
    gb = client_api.get("/api/v1/crisis-resources/", {"country": "gb"}).json()
    assert gb["country"] == "GB" and any(r.get("phone") == "116 123" for r in gb["resources"])
    assert client_api.get("/api/v1/crisis-resources/", {"country": "ZZ"}).json()["country"] is None
    assert_error(client_api.get("/api/v1/crisis-resources/", {"country": "USA"}), 400, fields=["country"])
    assert anon_api.get("/api/v1/crisis-resources/").status_code == 401


def test_country_is_a_profile_field(client_api):
    response = client_api.patch("/api/v1/me", {"country": "us"}, format="json")
    assert response.status_code == 200 and response.json()["country"] == "US"
    assert_error(client_api.patch("/api/v1/me", {"country": "USA"}, format="json"), 400, fields=["country"])


def test_extreme_intensity_without_recovery_for_a_while_is_flagged_at_once(client_api):
    body = log_body(
        occurred_at=local_time(timezone.now() - timedelta(hours=3)),
        intensity_before=9,
        intensity_after=None,
        recovery_minutes=None,
    )
    data = client_api.post(URL, body, format="json").json()
    assert data["safety_flag"] is True and data["crisis_resources"] is not None
    assert data["safety"] is None


def test_scheduler_flags_an_open_extreme_episode_once_its_time_has_passed(client_api, client_user):
    open_episode = make_log(client_user, intensity_before=10, intensity_after=None, recovery_minutes=None)
    recovered = make_log(client_user, intensity_before=10, intensity_after=None, recovery_minutes=15)
    eased = make_log(client_user, intensity_before=9, intensity_after=4, recovery_minutes=None)
    mild = make_log(client_user, intensity_before=8, intensity_after=None, recovery_minutes=None)
    assert not RegulationLog.objects.filter(safety_flag=True).exists()
    feed = client_api.get("/api/v1/sync/").json()

    assert safety_sweep_job(now=timezone.now()) == 0  # not yet: 30 minutes ago
    later = timezone.now() + timedelta(hours=2)
    run_tick(now=later)  # the job is registered in SCHEDULER_JOBS
    flagged = set(RegulationLog.objects.filter(safety_flag=True).values_list("id", flat=True))
    assert flagged == {open_episode.id}
    assert {recovered.id, eased.id, mild.id}.isdisjoint(flagged)
    assert safety_sweep_job(now=later) == 0  # marked once

    # The mark is a change in the feed, so phones (and shared dashboards) learn about it.
    changes = client_api.get("/api/v1/sync/", {"cursor": feed["cursor"]}).json()["changes"]
    assert [(c["id"], c["record"]["safety_flag"]) for c in changes] == [(str(open_episode.id), True)]
    # Completing it later keeps the mark.
    client_api.patch(detail(open_episode.id), {"recovery_minutes": 240}, format="json")
    assert RegulationLog.objects.get(id=open_episode.id).safety_flag is True


# --- Vocabularies ----------------------------------------------------------------------------------
def test_vocabularies_serve_every_code_with_strategy_families(client_api):
    data = client_api.get("/api/v1/vocabularies/").json()
    assert data["version"] == vocabularies.VERSION
    assert [t["code"] for t in data["triggers"]] == [
        "conflict",
        "separation",
        "rejection",
        "criticism",
        "uncertainty",
        "reminder_of_past",
        "other",
    ]
    assert {t["code"] for t in data["trigger_targets"]} == {
        "partner",
        "parent",
        "friend",
        "colleague",
        "therapist",
        "other",
    }
    families = {f["code"]: {s["code"] for s in f["strategies"]} for f in data["strategy_families"]}
    assert families == {
        "engagement": {"reappraisal", "problem_solving", "acceptance", "reflection"},
        "disengagement": {"distraction", "suppression", "avoidance"},
        "perseveration": {"rumination", "worry"},
        "interpersonal": {"support_seeking", "reassurance_seeking", "withdrawal"},
        "self_soothing": {"breathing", "movement"},
    }
    assert {e["code"] for e in data["emotions"]} == set(vocabularies.EMOTIONS)
    assert vocabularies.strategies_by_family(["worry", "rumination", "breathing", "nope"]) == {
        "engagement": 0,
        "disengagement": 0,
        "perseveration": 2,
        "interpersonal": 0,
        "self_soothing": 1,
    }


def test_a_patch_with_an_incomplete_emotion_is_a_400_not_a_500(client_api):
    """Found by schemathesis: partial validation reached the nested emotion and dropped its label."""
    log_id = str(uuid.uuid4())
    created = client_api.post(
        "/api/v1/regulation-logs/",
        {"id": log_id, "occurred_at": "2026-11-20T10:00:00+01:00", "trigger": "conflict", "intensity_before": 6},
        format="json",
    )
    assert created.status_code == 201, created.content
    response = client_api.patch(f"/api/v1/regulation-logs/{log_id}/", {"emotions": [{"intensity": 0}]}, format="json")
    assert_error(response, 400, "validation_error", fields=["emotions.0.label"])
