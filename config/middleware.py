import logging
import re
import time
import uuid

from django.conf import settings
from django.db import InterfaceError, OperationalError

from tracker.common.api.errors import json_error
from tracker.common.api.views import database_unavailable
from tracker.common.logs import request_id_var
from tracker.common.metrics import REQUEST_LATENCY

logger = logging.getLogger(__name__)
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._-]{8,64}")


class BodySizeLimitMiddleware:
    """Refuse oversized bodies with 413 before anything reads them.

    DRF parses the request stream directly, which bypasses Django's DATA_UPLOAD_MAX_MEMORY_SIZE,
    so the limit is enforced here on the declared length (and on chunked bodies, which have none)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.MAX_REQUEST_BODY_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error(400, "validation_error", "Content-Length is not a number.")
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        if declared > limit or chunked:
            return json_error(413, "request_too_large", f"The request body exceeds {limit} bytes.")
        return self.get_response(request)


DATABASE_DOWN_EXCEPTIONS = (OperationalError, InterfaceError)


class ResilienceMiddleware:
    """A database outage (connection refused, restart, failover) answers 503 + Retry-After, not 500.

    Views' exceptions arrive in `process_exception`; those raised in other middleware reach
    handler500, which applies the same rule (tracker.common.api.views.server_error)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_DOWN_EXCEPTIONS):
            logger.warning("database unavailable: %s", type(exception).__name__)
            return database_unavailable()
        return None


NO_STORE_PREFIXES = ("/api/v1/", "/dashboard/", "/admin/")


class SecurityHeadersMiddleware:
    """Health data never sits in a shared or browser cache (`Cache-Control: no-store` on the API,
    the dashboard and the admin), and the dashboard carries a Content-Security-Policy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        path = request.path
        if path.startswith(NO_STORE_PREFIXES):
            response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
        if path.startswith("/dashboard/") and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = settings.DASHBOARD_CSP
        return response


class RequestContextMiddleware:
    """A request id (the caller's X-Request-ID if it is sane, else a new one) on every log line and
    on the response; request latency by route pattern for /metrics (never the raw path)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if REQUEST_ID_RE.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        began = time.monotonic()
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None and match.route else "unmatched"
        REQUEST_LATENCY.labels(route=route, method=request.method, status=str(response.status_code)).observe(
            time.monotonic() - began
        )
        response["X-Request-ID"] = request_id
        return response
