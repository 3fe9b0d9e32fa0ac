"""A local fake of FCM HTTP v1 and Google's OAuth token endpoint, served over real HTTP on
127.0.0.1 (random port) from a thread. Behaviour is chosen per registration token prefix:

- `ok-…`: 200;  `dead-…`: 404 UNREGISTERED;  `badtoken-…`: 400 INVALID_ARGUMENT about the token;
- `flaky-…`: 503 for the first `flaky_failures` requests, then 200;  `denied-…`: 403 PERMISSION_DENIED;
- `slow-…`: answers after `slow_seconds` (longer than the client's timeout);
- `hang-…`: blocks until `release` is set (to kill a worker mid-send).
The token endpoint verifies the RS256 JWT assertion with the service account's public key."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

PROJECT = "securebase-test"


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class FakeFcm:
    def __init__(self):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key = key.public_key()
        self.service_account = {
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "test-key",
            "private_key": key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode(),
            "client_email": "push@securebase-test.iam.gserviceaccount.com",
            "token_uri": "https://oauth2.googleapis.com/token",  # overridden by FCM_TOKEN_URI
        }
        self.messages: list[dict] = []
        self.token_requests: list[dict] = []
        self.flaky_failures = 1
        self.slow_seconds = 2.0
        self.release = threading.Event()
        self.hanging = threading.Event()
        self._flaky_seen = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeFcm:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def settings_env(self, *, timeout: float = 0.5) -> dict[str, str]:
        return {
            "FCM_SERVICE_ACCOUNT_JSON": json.dumps(self.service_account),
            "FCM_BASE_URL": self.url,
            "FCM_TOKEN_URI": f"{self.url}/token",
            "FCM_TIMEOUT_SECONDS": str(timeout),
        }

    def verify_assertion(self, assertion: str) -> dict:
        header, claims, signature = assertion.split(".")
        self.public_key.verify(
            _unb64(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )  # raises InvalidSignature
        return json.loads(_unb64(claims))

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                except (BrokenPipeError, ConnectionResetError):
                    return
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out or was killed; that is the point of some tests

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/token":
                    form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                    try:
                        claims = fake.verify_assertion(form["assertion"])
                    except Exception:
                        return self._reply(400, {"error": "invalid_grant"})
                    fake.token_requests.append({"form": form, "claims": claims})
                    return self._reply(200, {"access_token": "fake-access-token", "expires_in": 3600})
                if self.path != f"/v1/projects/{PROJECT}/messages:send":
                    return self._reply(404, {"error": {"code": 404, "status": "NOT_FOUND", "message": "no route"}})
                if self.headers.get("Authorization") != "Bearer fake-access-token":
                    return self._reply(401, {"error": {"code": 401, "status": "UNAUTHENTICATED", "message": "auth"}})
                body = json.loads(raw)
                token = body["message"]["token"]
                with fake._lock:
                    fake.messages.append(body)
                if token.startswith("hang-"):
                    fake.hanging.set()
                    fake.release.wait(120)
                    return self._reply(200, {"name": "projects/x/messages/hung"})
                if token.startswith("slow-"):
                    time.sleep(fake.slow_seconds)
                    return self._reply(200, {"name": "projects/x/messages/slow"})
                if token.startswith("dead-"):
                    return self._reply(404, _error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"))
                if token.startswith("badtoken-"):
                    message = "The registration token is not a valid FCM registration token"
                    return self._reply(400, _error(400, "INVALID_ARGUMENT", message, "INVALID_ARGUMENT"))
                if token.startswith("denied-"):
                    return self._reply(
                        403, _error(403, "PERMISSION_DENIED", "Sender not allowed.", "THIRD_PARTY_AUTH_ERROR")
                    )
                if token.startswith("flaky-"):
                    with fake._lock:
                        fake._flaky_seen += 1
                        failing = fake._flaky_seen <= fake.flaky_failures
                    if failing:
                        return self._reply(503, _error(503, "UNAVAILABLE", "Try later.", "UNAVAILABLE"))
                return self._reply(200, {"name": f"projects/{PROJECT}/messages/{len(fake.messages)}"})

        return Handler


def _error(code: int, status: str, message: str, fcm_code: str) -> dict:
    return {
        "error": {
            "code": code,
            "status": status,
            "message": message,
            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code}],
        }
    }
