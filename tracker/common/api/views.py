"""Views that belong to the service rather than to a domain: health and JSON error pages."""

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from kombu import Connection

from tracker.common.api.errors import json_error

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.warning("health: database unreachable", exc_info=True)
        return False


def _broker_ok() -> bool:
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            connect_timeout=2,
        ) as broker:
            broker.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        logger.warning("health: broker unreachable", exc_info=True)
        return False


def health(request):
    """200 when the database and the broker answer, 503 (with which one failed) otherwise."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    healthy = all(checks.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        "checks": {k: "ok" if v else "fail" for k, v in checks.items()},
    }
    return JsonResponse(body, status=200 if healthy else 503)


def not_found(request, exception=None):
    return json_error(404, "not_found", "Not found.")


def server_error(request):
    return json_error(500, "server_error", "Something went wrong on our side.")
