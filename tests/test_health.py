import pytest

pytestmark = pytest.mark.django_db


def test_health_reports_database_broker_and_cache(anon_api):
    response = anon_api.get("/health/")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "cache": "ok"}}


def test_health_is_degraded_when_the_broker_is_unreachable(anon_api, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = anon_api.get("/health/")
    # Writes still work without the broker (DESIGN §3): reported, but the web stays in rotation.
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"] == {"database": "ok", "broker": "fail", "cache": "ok"}
