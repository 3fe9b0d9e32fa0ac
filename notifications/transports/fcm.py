"""Push through Firebase Cloud Messaging HTTP v1 (`POST {base}/v1/projects/{id}/messages:send`).

Configured from settings: `FCM_SERVICE_ACCOUNT_FILE` (or `FCM_SERVICE_ACCOUNT_JSON`), optional
`FCM_PROJECT_ID`, `FCM_BASE_URL` and `FCM_TOKEN_URI` (tests point both at a local fake server), and
`FCM_TIMEOUT_SECONDS`. Without credentials `push_configured()` is False and push is reported as
disabled; nothing pretends to send."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import requests
from django.conf import settings

from notifications.transports.base import TransportError
from notifications.transports.google_oauth import AccessTokenSource, ServiceAccount

# FCM error codes that mean the registration token is dead: the device gets switched off.
DEAD_TOKEN_CODES = {"UNREGISTERED", "SENDER_ID_MISMATCH"}


@dataclass(frozen=True)
class FcmConfig:
    project_id: str
    account: ServiceAccount
    base_url: str
    timeout: float


def _service_account_info() -> dict | None:
    if settings.FCM_SERVICE_ACCOUNT_JSON:
        return json.loads(settings.FCM_SERVICE_ACCOUNT_JSON)
    if settings.FCM_SERVICE_ACCOUNT_FILE:
        return json.loads(Path(settings.FCM_SERVICE_ACCOUNT_FILE).read_text())
    return None


def fcm_config() -> FcmConfig | None:
    info = _service_account_info()
    if not info:
        return None
    return FcmConfig(
        project_id=settings.FCM_PROJECT_ID or info["project_id"],
        account=ServiceAccount.from_info(info, token_uri=settings.FCM_TOKEN_URI),
        base_url=settings.FCM_BASE_URL.rstrip("/"),
        timeout=float(settings.FCM_TIMEOUT_SECONDS),
    )


def push_configured() -> bool:
    return bool(settings.FCM_SERVICE_ACCOUNT_JSON or settings.FCM_SERVICE_ACCOUNT_FILE)


def _error_code(response: requests.Response) -> tuple[str, str]:
    """(FCM errorCode or google.rpc status, message) from an error body; tolerant of non-JSON."""
    try:
        error = response.json().get("error", {})
    except ValueError:
        return "", ""
    code = ""
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            code = detail["errorCode"]
    return code or str(error.get("status", "")), str(error.get("message", ""))


class FcmTransport:
    def __init__(self, config: FcmConfig, *, session: requests.Session | None = None):
        self.config = config
        self.session = session or requests.Session()
        self.tokens = AccessTokenSource(config.account, timeout=config.timeout, session=self.session)

    @property
    def url(self) -> str:
        return f"{self.config.base_url}/v1/projects/{self.config.project_id}/messages:send"

    def message(self, *, token: str, title: str, body: str, data: dict[str, str]) -> dict:
        return {
            "message": {
                "token": token,
                "notification": {"title": title, "body": body},
                # FCM data values must be strings.
                "data": {key: str(value) for key, value in data.items()},
                "android": {"priority": "normal"},
                "apns": {"headers": {"apns-priority": "5"}},
            }
        }

    def send(self, *, token: str, title: str, body: str, data: dict[str, str]) -> int:
        """Send one message; returns the HTTP status. Raises TransportError on failure."""
        payload = self.message(token=token, title=title, body=body, data=data)
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.tokens.token()}"}
            try:
                response = self.session.post(self.url, json=payload, headers=headers, timeout=self.config.timeout)
            except requests.Timeout:
                raise TransportError("timeout", permanent=False) from None
            except requests.RequestException as exc:
                raise TransportError(f"connection error: {type(exc).__name__}", permanent=False) from None
            if response.status_code == 401 and attempt == 1:
                self.tokens.invalidate()  # an expired access token: fetch a fresh one once
                continue
            break
        status = response.status_code
        if status == 200:
            return status
        code, message = _error_code(response)
        if code in DEAD_TOKEN_CODES or (code == "INVALID_ARGUMENT" and "registration token" in message.lower()):
            raise TransportError(f"invalid token: {code}", permanent=True, http_status=status, disable_device=True)
        if status == 429 or status >= 500:
            raise TransportError(f"fcm {status} {code}".strip(), permanent=False, http_status=status)
        raise TransportError(f"fcm {status} {code}".strip(), permanent=True, http_status=status)


@lru_cache(maxsize=1)
def _cached_transport(key: tuple) -> FcmTransport | None:
    config = fcm_config()
    return FcmTransport(config) if config else None


def fcm_transport() -> FcmTransport | None:
    """A process-wide transport (its access token is cached), rebuilt when the settings change."""
    key = (
        settings.FCM_SERVICE_ACCOUNT_JSON,
        settings.FCM_SERVICE_ACCOUNT_FILE,
        settings.FCM_PROJECT_ID,
        settings.FCM_BASE_URL,
        settings.FCM_TOKEN_URI,
        settings.FCM_TIMEOUT_SECONDS,
    )
    return _cached_transport(key)
