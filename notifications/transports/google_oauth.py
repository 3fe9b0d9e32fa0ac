"""OAuth 2.0 access tokens for a Google service account (the JWT-bearer grant, RFC 7523).

Implemented with `cryptography` (RS256) rather than google-auth so it has no extra dependency and
talks to a configurable token URI: tests run it against a local fake token endpoint over real HTTP."""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from notifications.transports.base import TransportError

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class ServiceAccount:
    client_email: str
    private_key_pem: str
    token_uri: str
    private_key_id: str = ""

    @classmethod
    def from_info(cls, info: dict, *, token_uri: str = "") -> ServiceAccount:
        return cls(
            client_email=info["client_email"],
            private_key_pem=info["private_key"],
            token_uri=token_uri or info.get("token_uri") or "https://oauth2.googleapis.com/token",
            private_key_id=info.get("private_key_id", ""),
        )


def signed_assertion(account: ServiceAccount, *, scope: str, now: int) -> str:
    header = {"alg": "RS256", "typ": "JWT"}
    if account.private_key_id:
        header["kid"] = account.private_key_id
    claims = {"iss": account.client_email, "scope": scope, "aud": account.token_uri, "iat": now, "exp": now + 3600}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    key = serialization.load_pem_private_key(account.private_key_pem.encode(), password=None)
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
    return f"{signing_input}.{_b64(signature)}"


class AccessTokenSource:
    """Caches the access token until a minute before it expires; thread-safe."""

    def __init__(self, account: ServiceAccount, *, scope: str = FCM_SCOPE, timeout: float = 10.0, session=None):
        self.account = account
        self.scope = scope
        self.timeout = timeout
        self.session = session or requests.Session()
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def token(self) -> str:
        with self._lock:
            if self._token and time.time() < self._expires_at - 60:
                return self._token
            now = int(time.time())
            assertion = signed_assertion(self.account, scope=self.scope, now=now)
            try:
                response = self.session.post(
                    self.account.token_uri,
                    data={"grant_type": JWT_BEARER, "assertion": assertion},
                    timeout=self.timeout,
                )
            except requests.RequestException as exc:
                raise TransportError(f"token endpoint unreachable: {type(exc).__name__}", permanent=False) from None
            if response.status_code >= 500 or response.status_code == 429:
                raise TransportError("token endpoint error", permanent=False, http_status=response.status_code)
            if response.status_code != 200:
                # Bad credentials will not fix themselves; retrying would only hammer the endpoint.
                raise TransportError("token request refused", permanent=True, http_status=response.status_code)
            body = response.json()
            self._token = body["access_token"]
            self._expires_at = now + int(body.get("expires_in", 3600))
            return self._token
