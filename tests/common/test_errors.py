"""One error vocabulary (DESIGN §3): services raise `tracker.common.errors`, one handler renders them.

Each application error is driven through a real request (raised by a service or a view, rendered by
`tracker.common.api.errors.exception_handler`), and checked against the documented shape
`{"error": {"code", "message", "fields"?}}` exactly; plus the rule that no service or selector
imports DRF."""

import ast
import uuid
from pathlib import Path

import pytest
from django.test import override_settings

from tests.conftest import api_for
from tests.entries.test_regulation_api import log_body
from tests.factories import TherapistFactory
from tracker.common import errors
from tracker.common.api.errors import exception_handler

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
INVITES = "/api/v1/shares/invites"
ACCEPT = "/api/v1/shares/accept"
KEY = "HTTP_IDEMPOTENCY_KEY"


def error_of(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) <= {"code", "message", "fields"}, body
    return body["error"]


def invite_code(api, **body) -> str:
    response = api.post(INVITES, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["code"]


def test_service_conflict_is_409_with_its_code(client_api, therapist_api):
    assert therapist_api.post(ACCEPT, {"code": invite_code(client_api)}, format="json").status_code == 201
    second = therapist_api.post(ACCEPT, {"code": invite_code(client_api)}, format="json")
    assert error_of(second, 409) == {
        "code": "already_shared",
        "message": "This client already shares with you; they can change scopes instead.",
    }


def test_service_forbidden_is_403_with_its_code(client_api):
    unverified = api_for(TherapistFactory(is_verified=False))
    response = unverified.post(ACCEPT, {"code": invite_code(client_api)}, format="json")
    assert error_of(response, 403) == {
        "code": "not_a_verified_therapist",
        "message": "Your therapist account is not verified yet.",
    }


def test_service_invalid_is_400_with_fields(client_api):
    response = client_api.post("/api/v1/regulation-logs/", log_body(intensity_before=None), format="json")
    assert error_of(response, 400) == {
        "code": "validation_error",
        "message": "The request is not valid; see fields.",
        "fields": {"intensity_after": ["Needs intensity_before."]},
    }


def test_service_error_with_its_own_code_message_and_fields(therapist_api):
    response = therapist_api.post(ACCEPT, {"code": "AAAAA-BBBBB"}, format="json")
    assert error_of(response, 404) == {
        "code": "invalid_code",
        "message": "This code is not valid: it may be mistyped, used or expired.",
        "fields": {"code": ["Invalid."]},
    }


def test_view_not_found_is_404(client_api):
    response = client_api.get(f"/api/v1/checkins/{uuid.uuid4()}/")
    assert error_of(response, 404) == {"code": "not_found", "message": "Not found."}


def test_invalid_credentials_are_401(anon_api, client_user):
    response = anon_api.post("/api/v1/auth/login", {"email": client_user.email, "password": "nope"}, format="json")
    assert error_of(response, 401) == {"code": "invalid_credentials", "message": "Email or password is wrong."}


@override_settings(LOGIN_FAILURE_LIMIT=1, LOGIN_LOCKOUT_SECONDS=120)
def test_service_throttled_is_429_with_retry_after(anon_api, client_user):
    body = {"email": client_user.email, "password": "wrong-wrong-wrong"}
    response = anon_api.post("/api/v1/auth/login", body, format="json")
    assert error_of(response, 429) == {"code": "account_locked", "message": "Too many failed logins; try again later."}
    assert response["Retry-After"] == "120"


def test_throttled_retry_after_is_whole_seconds_and_never_zero():
    assert exception_handler(errors.Throttled(0.2), {})["Retry-After"] == "1"
    assert exception_handler(errors.Throttled(59.5), {})["Retry-After"] == "60"
    assert exception_handler(errors.ApplicationError(), {}).has_header("Retry-After") is False


def test_idempotency_mismatch_is_422(client_api):
    assert client_api.post(INVITES, {"scopes": ["checkins"]}, format="json", **{KEY: "e-1"}).status_code == 201
    response = client_api.post(INVITES, {"scopes": ["summaries"]}, format="json", **{KEY: "e-1"})
    assert error_of(response, 422) == {
        "code": "idempotency_mismatch",
        "message": "This Idempotency-Key was already used for a different request.",
    }


def test_a_service_error_under_an_idempotency_key_releases_the_key(client_api, therapist_api):
    assert error_of(therapist_api.post(ACCEPT, {"code": "AAAAA-BBBBB"}, format="json", **{KEY: "a-1"}), 404)
    # The 400 was not stored: the same key with the corrected body runs (no 422, no replayed 400).
    response = therapist_api.post(ACCEPT, {"code": invite_code(client_api)}, format="json", **{KEY: "a-1"})
    assert response.status_code == 201, response.content


def test_sync_reports_a_service_error_per_item(client_api):
    good, bad = log_body(), log_body(intensity_before=None)
    items = [
        {"type": "regulation_log", "op": "create", "id": good["id"], "record": good},
        {"type": "regulation_log", "op": "create", "id": bad["id"], "record": bad},
        {"type": "regulation_log", "op": "create", "id": good["id"], "record": good},
    ]
    results = client_api.post("/api/v1/sync/", {"items": items}, format="json").json()["results"]
    assert [r["status"] for r in results] == ["created", "invalid", "invalid"]
    assert results[1]["error"] == {
        "code": "validation_error",
        "message": "The item is not valid; see fields.",
        "fields": {"intensity_after": ["Needs intensity_before."]},
    }
    assert results[2]["error"] == {
        "code": "duplicate_item",
        "message": "This id already appears earlier in the batch.",
    }


# --- the layering rule -----------------------------------------------------------------------------


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _service_and_selector_modules() -> list[Path]:
    files: set[Path] = set()
    for package in [*ROOT.glob("tracker/*/"), ROOT / "notifications"]:
        for pattern in ("services.py", "services/**/*.py", "selectors.py", "selectors/**/*.py"):
            files.update(package.glob(pattern))
    files.update((ROOT / "tracker/common").glob("*.py"))  # the plain helpers; tracker/common/api is the API layer
    return sorted(files)


def test_no_service_or_selector_imports_rest_framework():
    modules = _service_and_selector_modules()
    assert ROOT / "tracker/entries/services/checkins.py" in modules
    assert ROOT / "tracker/data_rights/services.py" in modules
    assert ROOT / "notifications/services/devices.py" in modules
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name for name in _imported_modules(path) if name == "rest_framework" or name.startswith("rest_framework.")
        )
        for path in modules
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_error_vocabulary_is_plain_python():
    assert _imported_modules(ROOT / "tracker/common/errors.py") <= {"__future__"}
