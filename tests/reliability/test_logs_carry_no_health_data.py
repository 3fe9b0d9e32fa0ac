"""No health datum reaches a log line: notes, triggers, emotions, strategies and scores stay out of
every record emitted while a client writes and syncs entries and a therapist reads them, including
the error paths (a refused write logs its 4xx)."""

import logging
import uuid

import pytest
from django.conf import settings

from tests.sharing.factories import ShareGrantFactory
from tracker.common.logs import JsonFormatter

pytestmark = pytest.mark.django_db

NOTE = "zebra-harbour-7421 my private note"
SECRETS = ("zebra-harbour-7421", "rumination", "loneliness", "uncertainty")


def test_writes_reads_and_errors_log_no_health_data(client_api, client_user, therapist, therapist_api, caplog):
    caplog.set_level(logging.DEBUG)
    ShareGrantFactory(client=client_user, therapist=therapist, scope_notes=True)
    log = {
        "id": str(uuid.uuid4()),
        "occurred_at": "2026-11-20T10:00:00+01:00",
        "trigger": "uncertainty",
        "emotions": [{"label": "loneliness", "intensity": 7}],
        "intensity_before": 7,
        "strategies": ["rumination"],
        "note": NOTE,
    }
    assert client_api.post("/api/v1/regulation-logs/", log, format="json").status_code == 201
    # A refused retry (same id, other body) and an invalid body: both are logged as 4xx.
    assert client_api.post("/api/v1/regulation-logs/", {**log, "intensity_before": 3}, format="json").status_code == 409
    assert client_api.post("/api/v1/regulation-logs/", {**log, "id": "x"}, format="json").status_code == 400
    assert client_api.get("/api/v1/sync/?trigger=uncertainty&note=zebra-harbour-7421").status_code in (200, 400)
    client_id = client_user.id
    assert therapist_api.get(f"/api/v1/clients/{client_id}/regulation-logs/").status_code == 200
    assert client_api.get("/api/v1/nowhere/?strategy=rumination").status_code == 404

    # Both formatters the settings use: JSON in production, plain text in development.
    formatters = [JsonFormatter(), logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"])]
    for record in caplog.records:
        record.request_id = getattr(record, "request_id", "")
    logged = "\n".join(formatter.format(record) for record in caplog.records for formatter in formatters)
    assert caplog.records, "expected request logs for the 4xx answers"
    for secret in SECRETS:
        assert secret not in logged, f"{secret!r} reached a log record"
