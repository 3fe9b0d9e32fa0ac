"""Issue 13 regressions: Redis and PostgreSQL outages, security headers, trusted proxies, the admin."""

import re
import socket
from pathlib import Path

import pytest
from django.core.cache import caches
from django.db import OperationalError
from django.test import override_settings

from tests.factories import DEFAULT_PASSWORD, UserFactory
from tracker.common.cache import FallbackRedisCache

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent.parent
LOGIN = "/api/v1/auth/login"


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


def dead_redis_cache(**options) -> FallbackRedisCache:
    return FallbackRedisCache(f"redis://127.0.0.1:{dead_port()}/0", {"OPTIONS": options})


# --- Redis outage -----------------------------------------------------------------------------------
def test_the_fallback_cache_answers_from_memory_when_redis_is_down_and_stops_trying_for_a_while():
    cache = dead_redis_cache(RETRY_SECONDS=60)
    assert cache.ping() is False
    cache.set("k", 1, 30)  # no exception: stored locally
    assert cache.degraded
    assert cache.get("k") == 1
    assert cache.add("counter", 0, 30) and cache.incr("counter") == 1
    cache.delete("k")
    assert cache.get("k", "gone") == "gone"
    with pytest.raises(ValueError):
        cache.incr("missing")  # a cache answer, not an outage


def test_a_lock_set_during_an_outage_still_holds_once_redis_answers_again():
    cache = dead_redis_cache(RETRY_SECONDS=0)
    cache.set("locked", "until-later", 30)  # Redis down: kept locally
    cache.primary = caches["default"]  # Redis (or the local cache in the SQLite run) is back, empty
    assert cache.get("locked") == "until-later"


OUTAGE_CACHES = {
    "default": {
        "BACKEND": "tracker.common.cache.FallbackRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"RETRY_SECONDS": 60},
    }
}


def test_writes_and_logins_work_while_redis_is_down_and_the_lockout_still_locks(client_api, anon_api, client_user):
    with override_settings(CACHES=OUTAGE_CACHES):
        from django.core.cache import cache

        cache.clear()
        for _ in range(3):
            assert client_api.get("/api/v1/me").status_code == 200  # the user throttle reads the cache
        ok = anon_api.post(LOGIN, {"email": client_user.email, "password": DEFAULT_PASSWORD}, format="json")
        assert ok.status_code == 200, ok.content
        codes = [
            anon_api.post(LOGIN, {"email": client_user.email, "password": "wrong-wrong-1"}, format="json").status_code
            for _ in range(6)
        ]
        assert 429 in codes and 500 not in codes  # the lockout degraded to the local store, not off


def test_health_reports_database_broker_and_cache_separately(anon_api):
    response = anon_api.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "cache": "ok"}}
    assert response["Cache-Control"] == "no-store"


def test_health_is_degraded_not_down_when_the_cache_is_unreachable(anon_api):
    with override_settings(CACHES=OUTAGE_CACHES):
        response = anon_api.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "checks": {"database": "ok", "broker": "ok", "cache": "fail"}}


def test_health_is_503_with_retry_after_when_the_database_is_down(anon_api, monkeypatch):
    from tracker.common.api import views

    monkeypatch.setattr(views, "_database_ok", lambda: False)
    response = anon_api.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "fail" and response["Retry-After"]


# --- PostgreSQL outage ------------------------------------------------------------------------------
def test_a_database_outage_answers_503_with_retry_after_in_the_error_shape(client_api, monkeypatch):
    from django.urls import resolve

    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(resolve("/api/v1/checkins/").func.view_class, "get", down)
    client_api.raise_request_exception = False
    response = client_api.get("/api/v1/checkins/")
    assert response.status_code == 503, response.content
    assert response.json() == {
        "error": {"code": "service_unavailable", "message": "The service is briefly unavailable; please retry."}
    }
    assert int(response["Retry-After"]) > 0


def test_a_database_error_raised_outside_a_view_is_503_too(rf):
    from tracker.common.api.views import server_error

    try:
        raise OperationalError("the server closed the connection")
    except OperationalError:
        response = server_error(rf.get("/api/v1/me"))
    assert response.status_code == 503 and response["Retry-After"]


# --- Security ---------------------------------------------------------------------------------------
def test_a_forged_x_forwarded_for_does_not_escape_the_per_ip_throttle(anon_api, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": "5/min"},
    }
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES  # a class attribute: restore it exactly, for later tests
    SimpleRateThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    try:
        codes = [
            anon_api.post(
                LOGIN,
                {"email": "nobody@example.test", "password": "whatever-123"},
                format="json",
                HTTP_X_FORWARDED_FOR=f"10.0.{i}.{i}",
            ).status_code
            for i in range(12)
        ]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
    assert 429 in codes, codes


def test_with_one_trusted_proxy_the_client_is_the_address_that_proxy_saw(rf, settings):
    from tracker.common.api.client import client_ip

    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9", REMOTE_ADDR="10.0.0.2")
    assert client_ip(request) == "10.0.0.2"  # default: no proxy trusted, the header is ignored
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    from rest_framework.settings import api_settings

    api_settings.reload()
    try:
        assert client_ip(request) == "203.0.113.9"  # not the client-chosen 6.6.6.6
    finally:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 0}
        api_settings.reload()


def test_api_answers_carry_no_store_and_the_dashboard_a_csp(client_api, client):
    response = client_api.get("/api/v1/me")
    assert response["Cache-Control"] == "no-store"
    assert response["X-Request-ID"]
    page = client.get("/dashboard/login/")
    assert "no-store" in page["Cache-Control"]
    csp = page["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp


def test_the_admin_login_uses_the_lockout(client, settings):
    staff = UserFactory(is_staff=True, is_superuser=True)
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": staff.email, "password": "wrong-password-1"})
    response = client.post("/admin/login/?next=/admin/", {"username": staff.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200 and b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session


def test_the_admin_is_off_in_production_unless_enabled():
    import subprocess
    import sys

    code = (
        "import django,os;django.setup();from django.urls import resolve,Resolver404\n"
        "try:\n resolve('/admin/');print('on')\nexcept Resolver404:\n print('off')"
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV": "production",
        "SECRET_KEY": "x" * 60,
        "FIELD_ENCRYPTION_KEYS": "tmbIKJ3v_5a8GgvDbKqT8Xcpz8lnV3jM5JmfJ2Hj6nU=",
        "ALLOWED_HOSTS": "localhost",
        "PATH": "/usr/bin:/bin",
    }
    off = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    on = subprocess.run(
        [sys.executable, "-c", code], env={**env, "ADMIN_ENABLED": "true"}, cwd=ROOT, capture_output=True, text=True
    )
    assert (off.stdout.strip(), on.stdout.strip()) == ("off", "on"), off.stderr + on.stderr


def test_the_gunicorn_access_log_has_no_query_string_or_referrer():
    namespace: dict = {}
    exec((ROOT / "config" / "gunicorn.py").read_text(), namespace)  # noqa: S102 - our own config file
    fmt = namespace["access_log_format"]
    assert "%(U)s" in fmt
    assert not re.search(r"%\((q|r|f)\)s", fmt)
    assert "gunicorn.py" in " ".join(
        __import__("yaml").safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]["command"]
    )


def test_metrics_expose_request_latency_by_route_and_need_a_token_in_production(client_api, anon_api, settings):
    client_api.get("/api/v1/me")
    body = anon_api.get("/metrics").content.decode()
    assert "securebase_http_request_duration_seconds_bucket" in body
    assert 'route="api/v1/me"' in body or 'route="api/v1/me' in body
    settings.PRODUCTION, settings.METRICS_TOKEN = True, "s3cret-token"
    assert anon_api.get("/metrics").status_code == 404
    assert anon_api.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
