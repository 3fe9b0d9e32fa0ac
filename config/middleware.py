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
    """Refuse an over-long URL with 414 and an oversized body with 413, before anything reads them.

    gunicorn's own request-line limit is lifted (config/gunicorn.py) so that an over-long URL gets
    this JSON 414 in the API error shape rather than gunicorn's HTML page; the fronting proxy still
    caps the bytes it accepts.

    DRF parses the request stream directly, which bypasses Django's DATA_UPLOAD_MAX_MEMORY_SIZE,
    so the limit is enforced here on the declared length (and on chunked bodies, which have none)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        uri_limit = settings.MAX_REQUEST_URI_BYTES
        uri_length = len(request.META.get("PATH_INFO", "").encode()) + len(request.META.get("QUERY_STRING", ""))
        if uri_length > uri_limit:
            return json_error(414, "uri_too_long", f"The URL exceeds {uri_limit} bytes.")
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


class ApiConventionsMiddleware:
    """Two conventions of every /api/ URL that no view can give itself.

    - One path form: every route ends with a slash; the form without it is served by the same view
      (the routes' own pattern, tracker.common.api.urls.api_path), so CommonMiddleware's APPEND_SLASH
      redirect never fires for the API (a client following a 301 for a POST would turn the write
      into a GET) and no URL is resolved twice.
    - Errors are JSON in the one error shape, also under DEBUG: unmatched routes, 404, 405 and
      uncaught exceptions (whose DEBUG page would otherwise be HTML)."""

    PREFIX = "/api/"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(self.PREFIX):
            return self.get_response(request)
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        if response.status_code >= 400 and "json" not in content_type and not self._is_docs(request):
            response = self._json_error_for(response.status_code)
        return response

    def process_exception(self, request, exception):
        if not request.path_info.startswith(self.PREFIX):
            return None
        logging.getLogger("django.request").error(
            "Internal Server Error: %s", request.path, exc_info=(type(exception), exception, exception.__traceback__)
        )
        return json_error(500, "server_error", "Something went wrong on our side.")

    @staticmethod
    def _is_docs(request) -> bool:
        return request.path_info.startswith("/api/docs")

    @staticmethod
    def _json_error_for(status_code: int):
        if status_code == 404:
            return json_error(404, "not_found", "Not found.")
        if status_code == 405:
            return json_error(405, "method_not_allowed", "Method not allowed.")
        if status_code >= 500:
            return json_error(status_code, "server_error", "Something went wrong on our side.")
        return json_error(status_code, "error", "The request could not be served.")
