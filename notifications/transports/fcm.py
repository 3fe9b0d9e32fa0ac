"""Push through Firebase Cloud Messaging HTTP v1 (`POST {base}/v1/projects/{id}/messages:send`).

Configured from settings: `FCM_SERVICE_ACCOUNT_FILE` (or `FCM_SERVICE_ACCOUNT_JSON`), optional
`FCM_PROJECT_ID`, `FCM_BASE_URL` and `FCM_TOKEN_URI` (tests point both at a local fake server), and
`FCM_TIMEOUT_SECONDS`. Without credentials `configured()` is False and push is reported as disabled;
nothing pretends to send.

OAuth access tokens come from google-auth (a service account's JWT-bearer grant, RFC 7523) against
the service account's `token_uri` (or `FCM_TOKEN_URI`); they are cached until shortly before expiry.

google-auth and requests are imported when a client is built, not with this module: the transports
registry (and so every web worker) imports this module, and those two cost a web worker ~30 MB it
never uses (issue 14: a web worker ≤ 100 MB); only the process that sends pushes loads them."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from notifications.transports.base import Message, TransportError

if TYPE_CHECKING:
    import requests

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL, not a secret)
# FCM error codes that mean the registration token is dead: the device gets switched off.
DEAD_TOKEN_CODES = {"UNREGISTERED", "SENDER_ID_MISMATCH"}


@dataclass(frozen=True)
class FcmConfig:
    project_id: str
    service_account_info: dict
    token_uri: str
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
        service_account_info=info,
        token_uri=settings.FCM_TOKEN_URI or info.get("token_uri") or GOOGLE_TOKEN_URI,
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


@lru_cache(maxsize=1)
def _timed_request_class() -> type:
    import google.auth.transport.requests

    class _TimedRequest(google.auth.transport.requests.Request):
        """google-auth's requests adapter with our timeout (its default is 120 s)."""

        def __init__(self, session: requests.Session, timeout: float):
            super().__init__(session)
            self.default_timeout = timeout

        def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
            return super().__call__(url, method, body, headers, timeout or self.default_timeout, **kwargs)

    return _TimedRequest


class AccessTokens:
    """OAuth access tokens for the service account, cached by google-auth until shortly before they
    expire; thread-safe. Token endpoint failures become TransportErrors."""

    def __init__(self, config: FcmConfig, *, session: requests.Session):
        from google.oauth2 import service_account

        self.credentials = service_account.Credentials.from_service_account_info(
            {**config.service_account_info, "token_uri": config.token_uri},
            scopes=[FCM_SCOPE],
            # google-auth addresses the assertion to Google's endpoint; it must name the one it is sent to.
            additional_claims={"aud": config.token_uri},
        )
        self.request = _timed_request_class()(session, config.timeout)
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self.credentials.token = None

    def token(self) -> str:
        import google.auth.exceptions

        with self._lock:
            if not self.credentials.valid:
                try:
                    self.credentials.refresh(self.request)
                except google.auth.exceptions.RefreshError as exc:
                    # Bad credentials will not fix themselves; retrying would only hammer the endpoint.
                    raise TransportError(
                        "token endpoint error" if exc.retryable else "token request refused",
                        permanent=not exc.retryable,
                    ) from None
                except google.auth.exceptions.TransportError as exc:
                    raise TransportError(f"token endpoint unreachable: {type(exc).__name__}", permanent=False) from None
            return self.credentials.token


class FcmClient:
    """The HTTP v1 client for one configuration; holds the session and the cached access token."""

    def __init__(self, config: FcmConfig, *, session: requests.Session | None = None):
        import requests

        self.config = config
        self.session = session or requests.Session()
        self.tokens = AccessTokens(config, session=self.session)

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
        import requests

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
def _cached_client(key: tuple) -> FcmClient | None:
    config = fcm_config()
    return FcmClient(config) if config else None


def fcm_client() -> FcmClient | None:
    """A process-wide client (its access token is cached), rebuilt when the settings change."""
    key = (
        settings.FCM_SERVICE_ACCOUNT_JSON,
        settings.FCM_SERVICE_ACCOUNT_FILE,
        settings.FCM_PROJECT_ID,
        settings.FCM_BASE_URL,
        settings.FCM_TOKEN_URI,
        settings.FCM_TIMEOUT_SECONDS,
    )
    return _cached_client(key)


class FcmTransport:
    channel = "push"
    label = "Push notification"
    via_outbox = True
    per_device = True

    def configured(self) -> bool:
        return push_configured()

    def send(self, message: Message) -> None:
        client = fcm_client()
        if client is None:
            raise TransportError("push not configured", permanent=True)
        if not message.device_token:
            raise TransportError("no device token", permanent=True)
        client.send(token=message.device_token, title=message.title, body=message.body, data=message.data)
