"""Who may read a client's data: every client-data route (API and web) by every kind of caller.

No access is always the same 404 — for a revoked share, an expired one, the wrong scope, an
unverified therapist, a suspended therapist, a clinic admin, another client, the client themself on
the therapist routes — so a caller cannot even learn that a client exists. Anonymous callers get 401
(API) or the login page (web). A therapist without a second factor gets 403 `mfa_required` on every
API route but login, logout, me and enrolment, and is sent to the enrolment page on every dashboard
page but the login steps and the invitation link."""

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import ClinicAdminFactory, TherapistFactory, UserFactory
from tests.helpers import web_login
from tests.sharing.factories import RegulationLogFactory, ShareGrantFactory, WeeklySummaryFactory, history_for
from tracker.models import AccessLogEntry, DeviceToken, ShareGrant, TherapySession
from tracker.sharing.models import ALL_SCOPES

pytestmark = pytest.mark.django_db

PERSONAS = [
    "owner",
    "right_scope",
    "wrong_scope",
    "revoked",
    "expired",
    "unverified",
    "suspended",
    "no_mfa",
    "clinic_admin",
    "another_client",
    "anonymous",
]
ANY = None  # the route needs a live grant, whatever its scopes


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    url: str  # {client} is the client's id
    needs: tuple[str, ...] | None  # any one of these scopes (None: any live grant)
    ok: int
    web: bool = False
    logged_as: str | None = None  # access-log resource written on success


ROUTES = [
    Route("api client", "get", "/api/v1/clients/{client}/", ANY, 200, logged_as="client_list"),
    Route("api checkins", "get", "/api/v1/clients/{client}/checkins/", ("checkins",), 200, logged_as="checkins"),
    Route(
        "api regulation-logs",
        "get",
        "/api/v1/clients/{client}/regulation-logs/",
        ("regulation_logs",),
        200,
        logged_as="regulation_logs",
    ),
    Route("api trends", "get", "/api/v1/clients/{client}/trends/", ("checkins",), 200, logged_as="trends"),
    Route("api summaries", "get", "/api/v1/clients/{client}/summaries/", ("summaries",), 200, logged_as="summaries"),
    Route(
        "api digest",
        "get",
        "/api/v1/clients/{client}/digest/",
        ("checkins", "regulation_logs", "summaries"),
        200,
        logged_as="digest",
    ),
    Route("api sessions", "post", "/api/v1/clients/{client}/sessions/", ANY, 201),
    Route(
        "web client page",
        "get",
        "/dashboard/clients/{client}/",
        ("checkins", "regulation_logs", "summaries"),
        200,
        web=True,
        logged_as="client_page",
    ),
    Route("web mark session", "post", "/dashboard/clients/{client}/sessions/", ANY, 302, web=True),
    Route(
        "api session report",
        "get",
        "/api/v1/clients/{client}/report/",
        ("checkins", "regulation_logs", "summaries"),
        200,
        logged_as="report",
    ),
    Route(
        "web session report",
        "get",
        "/dashboard/clients/{client}/report/",
        ("checkins", "regulation_logs", "summaries"),
        200,
        web=True,
        logged_as="report",
    ),
]


def scopes_without(needs) -> dict:
    """Grant fields for 'the wrong scope': everything except what the route needs."""
    if needs is None:
        return {"scope_checkins": False, "scope_regulation_logs": False, "scope_summaries": False, "scope_notes": True}
    return {f"scope_{s}": s not in needs for s in ALL_SCOPES}


def build_world(route: Route):
    now = timezone.now()
    client = UserFactory(display_name="Casey")
    history_for(client, weeks=3)
    RegulationLogFactory(user=client, safety_flag=True)
    WeeklySummaryFactory(user=client)
    all_scopes = {f"scope_{s}": True for s in ALL_SCOPES}

    def therapist_with(grant_fields, **user_fields):
        therapist = TherapistFactory(**user_fields)
        ShareGrantFactory(client=client, therapist=therapist, **{**all_scopes, **grant_fields})
        return therapist

    users = {
        "owner": client,
        "right_scope": therapist_with({}),
        "wrong_scope": therapist_with(scopes_without(route.needs)),
        "revoked": therapist_with({"status": ShareGrant.Status.REVOKED, "revoked_at": now - timedelta(minutes=1)}),
        "expired": therapist_with({"expires_at": now - timedelta(seconds=1)}),
        "unverified": therapist_with({}, is_verified=False),
        # Shares are live for these two: only the clinic's suspension or the missing factor stops them.
        "suspended": therapist_with({}, is_verified__suspended=True),
        "no_mfa": therapist_with({}, mfa=False),
        # Runs the clinic of the right-scope therapist; the clinic never sees a client's data.
        "clinic_admin": ClinicAdminFactory(),
        "another_client": UserFactory(),
        "anonymous": None,
    }
    return client, users


def caller(user, *, web: bool):
    if web:
        browser = Client()
        if user is not None:
            web_login(browser, user)
        return browser
    api = APIClient()
    if user is not None:
        _, token = DeviceToken.objects.create(user=user)
        api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def without_csrf(content: bytes) -> bytes:
    # The masked CSRF token differs on every response; everything else must be identical.
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


def expected_status(route: Route, persona: str) -> int:
    if persona == "anonymous":
        return 302 if route.web else 401
    if persona == "no_mfa":
        return 302 if route.web else 403
    if persona == "right_scope":
        return route.ok
    if persona == "wrong_scope" and route.needs is None:
        return route.ok  # a live grant is all this route needs
    return 404


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_every_client_data_route_against_every_kind_of_caller(route):
    client, users = build_world(route)
    url = route.url.format(client=client.id)
    unknown_url = route.url.format(client="00000000-0000-0000-0000-000000000000")
    for persona in PERSONAS:
        http = caller(users[persona], web=route.web)
        before = AccessLogEntry.objects.count()
        response = getattr(http, route.method)(url)
        assert response.status_code == expected_status(route, persona), (route.name, persona, response.content[:300])
        written = AccessLogEntry.objects.count() - before
        if response.status_code == 404:
            # Exactly what a client who never existed looks like: nothing to tell them apart.
            unknown = getattr(http, route.method)(unknown_url)
            assert without_csrf(response.content) == without_csrf(unknown.content), (route.name, persona)
        if persona == "anonymous" and route.web:
            assert response["Location"].startswith("/dashboard/login/?next=")
        if persona == "no_mfa":
            if route.web:
                assert response["Location"] == "/dashboard/two-factor/"
            else:
                assert response.json()["error"]["code"] == "mfa_required"
        if response.status_code in (200,) and route.logged_as:
            assert written == 1, (route.name, persona)
            entry = AccessLogEntry.objects.latest("id")
            assert (entry.therapist, entry.client, entry.resource) == (users[persona], client, route.logged_as)
            assert entry.channel == ("web" if route.web else "api")
        else:
            assert written == 0, (route.name, persona)
    # Only callers who were let in could mark a session.
    marked = set(TherapySession.objects.filter(client=client).values_list("therapist", flat=True))
    allowed = {users[p].pk for p in ("right_scope", "wrong_scope") if expected_status(route, p) == route.ok}
    assert marked == (allowed if route.method == "post" else set())


CLIENT_SIDE = [
    ("get", "/api/v1/shares/{grant}"),
    ("patch", "/api/v1/shares/{grant}"),
    ("delete", "/api/v1/shares/{grant}"),
    ("get", "/api/v1/shares/{grant}/access-log"),
    ("get", "/api/v1/shares/{grant}/preview"),
    ("get", "/api/v1/shares/{grant}/alert-rules/"),
]


@pytest.mark.parametrize(("method", "url"), CLIENT_SIDE)
def test_a_share_is_visible_only_to_its_client(method, url):
    client, users = build_world(ROUTES[0])
    grant = ShareGrant.objects.get(client=client, therapist=users["right_scope"])
    for persona in PERSONAS:
        response = getattr(caller(users[persona], web=False), method)(
            url.format(grant=grant.id), {"scopes": ["checkins"]} if method == "patch" else None, format="json"
        )
        owner = {"get": 200, "patch": 200, "delete": 204}[method]
        expected = {"owner": owner, "anonymous": 401, "no_mfa": 403}.get(persona, 404)
        assert response.status_code == expected, (persona, response.content[:300])


def test_client_list_shows_only_live_grants_and_cuts_status_to_scope():
    client, users = build_world(Route("list", "get", "", ("checkins", "regulation_logs"), 200))
    expectations = {
        "right_scope": 200,
        "wrong_scope": 200,
        "revoked": 200,
        "expired": 200,
        "unverified": 403,
        "suspended": 403,
        "no_mfa": 403,
        "clinic_admin": 403,
        "owner": 403,
        "another_client": 403,
        "anonymous": 401,
    }
    for persona, status in expectations.items():
        response = caller(users[persona], web=False).get("/api/v1/clients/")
        assert response.status_code == status, persona
        if status != 200:
            continue
        results = response.json()["results"]
        if persona in ("revoked", "expired"):
            assert results == [], persona
            continue
        assert [r["client"]["id"] for r in results] == [str(client.id)]
        line = results[0]["status"]
        if persona == "right_scope":
            assert line["last_checkin_at"] is not None
            assert line["direction"] == "insufficient_data" or line["direction"] in ("improving", "stable", "worsening")
            assert line["safety_flags_since_last_session"] == 1
        else:  # shares only summaries (and notes): no check-in or regulation figure leaks
            assert line == {
                "last_checkin_at": None,
                "direction": None,
                "safety_flags_since_last_session": None,
                "last_session_at": None,
            }


def test_web_client_list_shows_only_live_grants():
    client, users = build_world(ROUTES[0])
    expectations = {"right_scope": 200, "revoked": 200, "expired": 200, "unverified": 403, "suspended": 403}
    for persona, status in expectations.items():
        response = caller(users[persona], web=True).get("/dashboard/")
        assert response.status_code == status, persona
        assert (str(client.id) in response.content.decode()) == (persona == "right_scope"), persona
    assert caller(users["no_mfa"], web=True).get("/dashboard/")["Location"] == "/dashboard/two-factor/"
    admin_page = caller(users["clinic_admin"], web=True).get("/dashboard/", follow=True)
    assert admin_page.redirect_chain[-1][0] == "/dashboard/clinics/"
    assert str(client.id) not in admin_page.content.decode()
    assert caller(None, web=True).get("/dashboard/").status_code == 302


def test_notes_are_hidden_unless_shared():
    client, users = build_world(ROUTES[1])
    therapist = users["right_scope"]
    api = caller(therapist, web=False)
    grant = ShareGrant.objects.get(client=client, therapist=therapist)
    for path in ("checkins", "regulation-logs"):
        notes = {row["note"] for row in api.get(f"/api/v1/clients/{client.id}/{path}/").json()["results"]}
        assert notes and None not in notes
    page = caller(therapist, web=True).get(f"/dashboard/clients/{client.id}/").content.decode()
    assert "felt unseen at dinner" in page

    ShareGrant.objects.filter(pk=grant.pk).update(scope_notes=False)  # the very next request sees it
    for path in ("checkins", "regulation-logs"):
        notes = {row["note"] for row in api.get(f"/api/v1/clients/{client.id}/{path}/").json()["results"]}
        assert notes == {None}
    page = caller(therapist, web=True).get(f"/dashboard/clients/{client.id}/").content.decode()
    assert "felt unseen at dinner" not in page and "texted a friend" not in page


def test_revocation_applies_to_the_very_next_request(client_api, client_user, therapist, therapist_api):
    grant = ShareGrantFactory(client=client_user, therapist=therapist)
    history_for(client_user, weeks=2)
    url = f"/api/v1/clients/{client_user.id}/checkins/"
    assert therapist_api.get(url).status_code == 200
    assert client_api.delete(f"/api/v1/shares/{grant.id}").status_code == 204
    assert therapist_api.get(url).status_code == 404
    assert therapist_api.get("/api/v1/clients/").json()["results"] == []


def test_scope_change_applies_to_the_very_next_request(client_api, client_user, therapist, therapist_api):
    grant = ShareGrantFactory(client=client_user, therapist=therapist)
    url = f"/api/v1/clients/{client_user.id}/regulation-logs/"
    assert therapist_api.get(url).status_code == 200
    response = client_api.patch(f"/api/v1/shares/{grant.id}", {"scopes": ["checkins"]}, format="json")
    assert response.status_code == 200
    assert therapist_api.get(url).status_code == 404
    trends = therapist_api.get(f"/api/v1/clients/{client_user.id}/trends/").json()
    assert trends["regulation"] is None  # the regulation part of trends went with the scope


def test_expiry_applies_without_anyone_writing(client_user, therapist, therapist_api):
    import time_machine

    ShareGrantFactory(client=client_user, therapist=therapist, expires_at=timezone.now() + timedelta(hours=1))
    url = f"/api/v1/clients/{client_user.id}/digest/"
    assert therapist_api.get(url).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
        assert therapist_api.get(url).status_code == 404


def test_preview_shows_exactly_the_scoped_parts(client_api, client_user, therapist):
    grant = ShareGrantFactory(client=client_user, therapist=therapist, scope_regulation_logs=False)
    history_for(client_user, weeks=2)
    body = client_api.get(f"/api/v1/shares/{grant.id}/preview").json()
    assert body["share"]["scopes"] == ["checkins", "summaries"]
    assert body["regulation_logs"] is None
    assert body["trends"]["regulation"] is None
    assert body["digest"]["regulation"] is None
    assert len(body["checkins"]) == 4 and {c["note"] for c in body["checkins"]} == {None}
    assert not AccessLogEntry.objects.exists()  # the client reading their own preview is not a therapist read
    client_api.delete(f"/api/v1/shares/{grant.id}")
    body = client_api.get(f"/api/v1/shares/{grant.id}/preview").json()
    assert body["share"]["status"] == "revoked"
    assert [body[k] for k in ("checkins", "regulation_logs", "summaries", "trends", "digest")] == [None] * 5


# --- the second-factor gate on every route, API and web ---------------------------------------------

SECOND_FACTOR_OPEN_API = {
    "auth/logout/",
    "auth/logout-all/",
    "me/",
    "auth/mfa/",
    "auth/mfa/totp/",
    "auth/mfa/totp/confirm/",
}
SECOND_FACTOR_OPEN_WEB = {"login/", "login/code/", "logout/", "two-factor/", "clinics/join/<str:token>/"}


def _filled(route: str) -> str:
    route = re.sub(r"<(?:anyuuid|uuid):\w+>", "00000000-0000-0000-0000-000000000001", route)
    route = re.sub(r"<int:\w+>", "1", route)
    return re.sub(r"<(?:str:)?\w+>", "x", route)


def _methods(view) -> list[str]:
    cls = getattr(view, "cls", None) or getattr(view, "view_class", None)
    if cls is None:
        return ["get"]
    return [m for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)]


def test_every_api_route_answers_mfa_required_to_a_therapist_without_a_second_factor():
    from rest_framework.permissions import AllowAny

    from tests.helpers import api_routes

    for persona in ("therapist", "clinic_admin"):
        user = TherapistFactory(mfa=False) if persona == "therapist" else ClinicAdminFactory(mfa=False)
        api = caller(user, web=False)
        checked = 0
        for route, view in api_routes():
            if AllowAny in getattr(view.cls, "permission_classes", []) or "logout" in route:
                continue  # public: register, login, its second step, joining a clinic; logout: below
            for method in _methods(view):
                response = getattr(api, method)(f"/api/v1/{_filled(route)}", {}, format="json")
                code = response.json()["error"]["code"] if response.status_code >= 400 else None
                if route in SECOND_FACTOR_OPEN_API:
                    assert code != "mfa_required", (persona, method, route)
                else:
                    assert (response.status_code, code) == (403, "mfa_required"), (persona, method, route)
                    checked += 1
        assert checked > 40, checked
        if persona == "therapist":
            assert api.post("/api/v1/auth/logout/").status_code == 204  # last: it ends the token


def test_every_dashboard_page_sends_a_user_without_a_second_factor_to_enrol():
    from django.urls import get_resolver

    dashboard = next(p for p in get_resolver().url_patterns if str(p.pattern) == "dashboard/")
    for user in (TherapistFactory(mfa=False), ClinicAdminFactory(mfa=False)):
        browser = caller(user, web=True)
        checked = 0
        for pattern in dashboard.url_patterns:
            route = str(pattern.pattern)
            if route in SECOND_FACTOR_OPEN_WEB:
                continue
            for method in ("get", "post"):
                response = getattr(browser, method)(f"/dashboard/{_filled(route)}")
                assert response.status_code == 302 and response["Location"] == "/dashboard/two-factor/", route
                checked += 1
        assert checked >= 10
