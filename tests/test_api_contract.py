"""Issue 12: no 5xx from any input, one path form, canonical UUID ids — the cases a fuzzer found.

The live-server run of schemathesis and of the generated clients is `bin/contract-tests` (.ci/run);
these are the same cases as focused in-suite tests on whichever database the suite runs."""

import json
import re
import uuid
from pathlib import Path

import pytest
from django.test import override_settings

from tests.entries.entry_factories import checkin_body, make_checkin
from tests.entries.test_regulation_api import log_body, make_log
from tests.helpers import api_routes, assert_error
from tests.sharing.factories import ShareGrantFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
DEEP = "[" * 1000 + "]" * 1000


# --- 1. Bodies ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/api/v1/auth/login/", "/api/v1/auth/register/", "/api/v1/checkins/", "/api/v1/sync/"])
@pytest.mark.parametrize("body", [DEEP, '{"a":' * 1000 + "1" + "}" * 1000, '{"items": ' + DEEP + "}"])
def test_deeply_nested_json_is_a_400_everywhere(client_api, url, body):
    response = client_api.generic("POST", url, body, content_type="application/json")
    assert_error(response, 400, "validation_error")


@override_settings(DEBUG=True)
def test_deeply_nested_json_is_a_json_400_also_under_debug(anon_api):
    response = anon_api.generic("POST", "/api/v1/auth/login/", DEEP, content_type="application/json")
    assert_error(response, 400)
    assert len(response.content) < 1000


def test_moderate_nesting_inside_strings_does_not_count(client_api):
    body = checkin_body(note="[" * 500 + "{" * 500)
    assert client_api.post("/api/v1/checkins/", body, format="json").status_code == 201


@pytest.mark.parametrize("text", ['{"email": NaN}', '{"email": Infinity}', "{bad json", b"\xff\xfe".decode("latin-1")])
def test_non_json_bodies_are_a_400(anon_api, text):
    response = anon_api.generic("POST", "/api/v1/auth/login/", text, content_type="application/json")
    assert_error(response, 400)


@pytest.mark.parametrize("url", ["/api/v1/devices/", "/api/v1/checkins/", "/api/v1/no-such-route/"])
@override_settings(DEBUG=True)
def test_an_over_long_url_is_a_json_414(client_api, url):
    """schemathesis sent a 4,359-byte query string; gunicorn answered with an HTML 414 nobody declared."""
    response = client_api.get(url + "?" + "&".join(f"page_size={n}" for n in range(600)))
    assert_error(response, 414, "uri_too_long")


def test_a_url_just_under_the_limit_is_served(client_api, settings):
    query = "page_size=5&x=" + "a" * (settings.MAX_REQUEST_URI_BYTES - len("/api/v1/devices/") - len("page_size=5&x="))
    assert client_api.get("/api/v1/devices/?" + query).status_code == 200


def test_gunicorn_leaves_the_url_limit_to_django():
    """Its own limit answers with an HTML page; the contract run and the drills serve with this file."""
    namespace: dict = {}
    exec((ROOT / "config" / "gunicorn.py").read_text(), namespace)  # noqa: S102 - our own config file
    assert namespace["limit_request_line"] == 0


# --- 1. Query strings: since/until on every list --------------------------------------------------------
BAD_TIMES = [
    ("until", "2026-01-01T00:00:00+24:00"),  # RFC 3339 offsets are under 24 hours
    ("since", "0001-01-01T00:00:00+01:00"),  # SQLite: date value out of range
    ("until", "9999-12-31T23:59:59-01:00"),
    ("since", "not-a-time"),
    ("since", "2026-13-01T00:00:00Z"),
    ("until", "2026-01-01T00:00:00.5+00:00:30"),
]


def every_list(client_user) -> list[str]:
    return [
        "/api/v1/checkins/",
        "/api/v1/regulation-logs/",
        f"/api/v1/clients/{client_user.id}/checkins/",
        f"/api/v1/clients/{client_user.id}/regulation-logs/",
    ]


@pytest.fixture
def shared_history(client_user, therapist):
    ShareGrantFactory(client=client_user, therapist=therapist)
    make_checkin(client_user)
    make_log(client_user)


def api_for_url(url, client_api, therapist_api):
    return therapist_api if "/clients/" in url else client_api


@pytest.mark.parametrize("param, value", BAD_TIMES)
def test_bad_or_out_of_range_filters_are_a_400_on_every_list(
    client_api, therapist_api, client_user, shared_history, param, value
):
    for url in every_list(client_user):
        response = api_for_url(url, client_api, therapist_api).get(url, {param: value})
        assert_error(response, 400, "validation_error", fields=[param])


@pytest.mark.parametrize(
    "params, count",
    [
        ({"since": "2000-01-01T00:00:00+14:00"}, 1),
        ({"since": "2000-01-01T00:00:00"}, 1),  # without an offset: UTC
        ({"until": "2000-01-01T00:00:00-18:00"}, 0),
        # Beyond PostgreSQL's ±15:59 displacement: converted to UTC before any query (was a 500 there).
        ({"until": "2000-01-01T00:00:00+21:54"}, 0),
        ({"since": "2000-01-01T00:00:00-23:59"}, 1),
        ({"since": "0001-01-02T00:00:00Z", "until": "9999-12-29T00:00:00Z"}, 1),
    ],
)
def test_valid_filters_answer_the_same_on_every_list(
    client_api, therapist_api, client_user, shared_history, params, count
):
    for url in every_list(client_user):
        response = api_for_url(url, client_api, therapist_api).get(url, params)
        assert response.status_code == 200, (url, response.content[:300])
        assert len(response.json()["results"]) == count, url


def test_since_at_or_after_until_is_an_empty_list_on_every_list(client_api, therapist_api, client_user, shared_history):
    for url in every_list(client_user):
        api = api_for_url(url, client_api, therapist_api)
        assert len(api.get(url).json()["results"]) == 1, url
        for since, until in (("2100-02-01T00:00:00Z", "1900-01-01T00:00:00Z"), ("2026-01-01T00:00:00Z",) * 2):
            response = api.get(url, {"since": since, "until": until})
            assert response.status_code == 200, (url, response.content[:300])
            assert response.json()["results"] == [], url


def test_an_empty_query_parameter_counts_as_left_out(client_api, therapist_api, client_user, shared_history):
    for url in every_list(client_user):
        api = api_for_url(url, client_api, therapist_api)
        response = api.get(url, {"since": "", "until": "", "page_size": "", "cursor": ""})
        assert response.status_code == 200, (url, response.content[:300])
        assert len(response.json()["results"]) == 1, url
    assert client_api.get("/api/v1/inbox/", {"unread": ""}).status_code == 200
    assert client_api.get("/api/v1/summaries/", {"since": "", "until": ""}).status_code == 200


@pytest.mark.parametrize("page_size", ["0", "-3", "201", "null", "abc", "1.5", "+5", "٣"])
def test_a_page_size_outside_1_to_200_is_a_400_on_every_list(client_api, page_size):
    for url in ("/api/v1/checkins/", "/api/v1/inbox/", "/api/v1/shares/", "/api/v1/devices/"):
        assert_error(client_api.get(url, {"page_size": page_size}), 400, fields=["page_size"])
    assert client_api.get("/api/v1/checkins/", {"page_size": "200"}).status_code == 200


def test_summary_dates_are_iso_only_and_unreal_weeks_are_404(client_api):
    assert_error(client_api.get("/api/v1/summaries/", {"until": "03/01/2026"}), 400, fields=["until"])
    assert client_api.get("/api/v1/summaries/", {"until": "2026-03-01"}).status_code == 200
    assert_error(client_api.get("/api/v1/summaries/2021-W53/"), 404)  # 2021 has 52 ISO weeks
    assert_error(client_api.get("/api/v1/summaries/0000-W01/"), 404)
    assert_error(client_api.get("/api/v1/summaries/2026-47/"), 400, fields=["week"])


# --- 1. Paths and errors under DEBUG ------------------------------------------------------------------
@override_settings(DEBUG=True)
@pytest.mark.parametrize(
    "method, url, status",
    [
        ("get", "/api/v1/does-not-exist", 404),
        ("post", "/api/v1/does-not-exist/", 404),
        ("get", "/api/nothing-here", 404),
        ("get", "/api/v1/checkins/not-a-uuid/", 404),
        ("put", "/api/v1/me/", 405),
        ("delete", "/api/v1/checkins/", 405),
    ],
)
def test_every_api_error_is_json_also_under_debug(client_api, method, url, status):
    response = getattr(client_api, method)(url)
    assert response["Content-Type"].startswith("application/json")
    assert_error(response, status)


@override_settings(DEBUG=True)
def test_an_uncaught_exception_is_a_json_500_under_debug(client_api, monkeypatch):
    from tracker.accounts.api import views

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.MeView, "get", boom)
    client_api.raise_request_exception = False
    response = client_api.get("/api/v1/me/")
    assert_error(response, 500, "server_error")


# --- 2. One path convention ------------------------------------------------------------------------------
def test_every_api_route_ends_with_a_slash():
    from tests.test_conventions import api_routes

    assert all(route.endswith("/") for route, _ in api_routes())


@pytest.mark.parametrize("debug", [True, False])
def test_a_write_without_the_slash_is_served_not_redirected(client_api, client_user, settings, debug):
    settings.DEBUG = debug
    body = checkin_body()
    response = client_api.post("/api/v1/checkins", body, format="json")
    assert response.status_code == 201, response.content[:300]
    assert client_api.get(f"/api/v1/checkins/{body['id']}").json()["id"] == body["id"]
    assert client_api.post("/api/v1/shares/invites", {}, format="json").status_code in (201, 400)
    assert client_api.get("/api/v1/me").status_code == 200
    assert client_api.get("/api/v1/me/").status_code == 200


def test_every_api_route_serves_both_slash_forms_from_its_own_pattern():
    """The route pattern serves the form without the slash (no middleware resolves it first)."""
    from django.urls import resolve

    from tracker.common.api.urls import OptionalSlashRoutePattern

    samples = {"<str:code>": "ecr-r-short", "<str:week>": "2026-W01"}
    for route, view in api_routes():
        url = "/api/v1/" + route
        for placeholder, value in samples.items():
            url = url.replace(placeholder, value)
        url = re.sub(r"<anyuuid:\w+>", "00000000-0000-4000-8000-000000000000", url)
        assert resolve(url).func is view, route
        assert resolve(url.removesuffix("/")).func is view, route
    from django.urls import URLResolver, get_resolver

    def endpoints(patterns, prefix=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from endpoints(entry.url_patterns, prefix + str(entry.pattern))
            elif (prefix + str(entry.pattern)).startswith("api/"):
                yield entry

    served = list(endpoints(get_resolver().url_patterns))
    assert len(served) >= 40
    assert all(isinstance(entry.pattern, OptionalSlashRoutePattern) for entry in served)


def test_an_api_request_is_resolved_once(client_api, monkeypatch):
    from django.urls.resolvers import URLResolver

    calls = []
    original = URLResolver.resolve

    def counting(self, path):
        if self.pattern.regex.pattern == "^/":  # the root resolver: one call per resolve of a URL
            calls.append(path)
        return original(self, path)

    monkeypatch.setattr(URLResolver, "resolve", counting)
    assert client_api.get("/api/v1/me").status_code == 200
    assert calls == ["/api/v1/me"]


def test_the_path_without_the_slash_is_not_listed_in_the_schema(anon_api):
    spec = anon_api.get("/api/schema?format=json").json()
    assert all(path.endswith("/") for path in spec["paths"])
    assert "/api/v1/me/" in spec["paths"]


# --- 3. Ids ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "bad_id",
    [
        5,
        0,
        False,
        True,
        1.5,
        None,
        [],
        {},
        "",
        "urn:uuid:12345678-1234-5678-1234-567812345678",
        "12345678123456781234567812345678",
        "{12345678-1234-5678-1234-567812345678}",
        "12345678-1234-5678-1234-56781234567",
    ],
)
def test_non_canonical_ids_are_a_400_naming_the_field(client_api, bad_id):
    assert_error(client_api.post("/api/v1/checkins/", checkin_body(id=bad_id), format="json"), 400, fields=["id"])
    assert_error(client_api.post("/api/v1/regulation-logs/", log_body(id=bad_id), format="json"), 400, fields=["id"])
    item = {"type": "checkin", "op": "create", "id": bad_id, "record": checkin_body()}
    result = client_api.post("/api/v1/sync/", {"items": [item]}, format="json").json()["results"][0]
    assert result["status"] == "invalid" and "id" in result["error"]["fields"], result


def test_upper_case_ids_are_accepted_everywhere_and_echoed_in_lower_case(client_api):
    upper = str(uuid.uuid4()).upper()
    created = client_api.post("/api/v1/checkins/", checkin_body(id=upper), format="json")
    assert created.status_code == 201 and created.json()["id"] == upper.lower()
    again = client_api.post("/api/v1/checkins/", checkin_body(id=upper.lower()) | _same(created), format="json")
    assert again.status_code == 200
    assert client_api.get(f"/api/v1/checkins/{upper}/").json()["id"] == upper.lower()

    sync_id = str(uuid.uuid4()).upper()
    body = checkin_body(id=sync_id)
    items = [{"type": "checkin", "op": "create", "id": sync_id, "record": body}]
    result = client_api.post("/api/v1/sync/", {"items": items}, format="json").json()["results"][0]
    assert result["status"] == "created" and result["id"] == sync_id.lower(), result
    retry = client_api.post("/api/v1/sync/", {"items": [dict(items[0], id=sync_id.lower())]}, format="json")
    assert retry.json()["results"][0]["status"] == "unchanged"
    assert client_api.get(f"/api/v1/checkins/{sync_id.lower()}/").status_code == 200


def _same(created) -> dict:
    data = created.json()
    return {"occurred_at": data["occurred_at"], "note": data["note"], "responses": data["responses"]}


def test_sync_feed_and_rest_agree_on_the_id_form(client_api):
    upper = str(uuid.uuid4()).upper()
    client_api.post("/api/v1/checkins/", checkin_body(id=upper), format="json")
    changes = client_api.get("/api/v1/sync/").json()["changes"]
    assert [c["id"] for c in changes] == [upper.lower()]
    assert json.dumps(changes).count(upper) == 0


# --- Partial edits validate list items whole (found by schemathesis on the live server) ---------------
def test_patching_a_checkin_with_half_an_answer_is_a_400(client_user, client_api):
    checkin = make_checkin(client_user)
    response = client_api.patch(f"/api/v1/checkins/{checkin.id}/", {"responses": [{"value": 1}]}, format="json")
    assert_error(response, 400, "validation_error", fields=["responses.0.item"])


def test_patching_a_regulation_log_with_half_an_emotion_is_a_400(client_user, client_api):
    log = make_log(client_user)
    response = client_api.patch(f"/api/v1/regulation-logs/{log.id}/", {"emotions": [{"intensity": 0}]}, format="json")
    assert_error(response, 400, "validation_error", fields=["emotions.0.label"])
    whole = client_api.patch(
        f"/api/v1/regulation-logs/{log.id}/", {"emotions": [{"label": "fear", "intensity": 3}]}, format="json"
    )
    assert whole.status_code == 200, whole.content
