"""Views that belong to the service rather than to a domain: health and JSON error pages."""

import hmac
import logging
import sys

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from kombu import Connection

from tracker.common import metrics as prometheus
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


def _cache_ok() -> bool:
    """Redis itself (not the per-process fallback the cache backend degrades to)."""
    ping = getattr(cache, "ping", None)
    if ping is not None:
        return ping()
    try:
        cache.set("health-probe", "1", 5)
        return cache.get("health-probe") == "1"
    except Exception:
        logger.warning("health: cache unreachable", exc_info=True)
        return False


def health(request):
    """Database, broker and cache, each reported. 503 only when the database is down (nothing can be
    served); a broker or cache outage is `degraded` with 200: writes still work (DESIGN §3), only
    periodic work waits and throttles count per process."""
    checks = {"database": _database_ok(), "broker": _broker_ok(), "cache": _cache_ok()}
    status = "ok" if all(checks.values()) else ("degraded" if checks["database"] else "unavailable")
    body = {"status": status, "checks": {k: "ok" if v else "fail" for k, v in checks.items()}}
    response = JsonResponse(body, status=503 if status == "unavailable" else 200)
    if status == "unavailable":
        response["Retry-After"] = str(settings.DATABASE_RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def metrics(request):
    """Prometheus exposition. In production it needs `Authorization: Bearer <METRICS_TOKEN>` (unset:
    not served at all); keep it off the public listener anyway (docs/operations.md)."""
    if settings.PRODUCTION:
        supplied = request.META.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ").strip()
        if not settings.METRICS_TOKEN or not hmac.compare_digest(supplied, settings.METRICS_TOKEN):
            return json_error(404, "not_found", "Not found.")
    body, content_type = prometheus.render()
    return HttpResponse(body, content_type=content_type)


def database_unavailable() -> HttpResponse:
    """503 in the error shape, with Retry-After: the client retries the same request (with its
    Idempotency-Key) instead of treating the write as refused."""
    response = json_error(503, "service_unavailable", "The service is briefly unavailable; please retry.")
    response["Retry-After"] = str(settings.DATABASE_RETRY_AFTER_SECONDS)
    return response


def not_found(request, exception=None):
    return json_error(404, "not_found", "Not found.")


def server_error(request):
    exception = sys.exc_info()[1]
    if isinstance(exception, (OperationalError, InterfaceError)):  # raised outside a view (middleware)
        return database_unavailable()
    return json_error(500, "server_error", "Something went wrong on our side.")
