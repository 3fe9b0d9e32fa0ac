import logging

from django.conf import settings
from django.urls import Resolver404, resolve

from tracker.common.api.errors import json_error


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


class ApiConventionsMiddleware:
    """Two conventions of every /api/ URL that no view can give itself.

    - One path form: every route ends with a slash; the other form (without it, or with it where a
      route has none) is served by the same view, never redirected (a client following a 301 for a
      POST would turn the write into a GET). Placed before CommonMiddleware, whose APPEND_SLASH
      redirect then never fires for the API.
    - Errors are JSON in the one error shape, also under DEBUG: unmatched routes, 404, 405 and
      uncaught exceptions (whose DEBUG page would otherwise be HTML)."""

    PREFIX = "/api/"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(self.PREFIX):
            return self.get_response(request)
        self._normalise_path(request)
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
        return request.path_info.startswith(("/api/docs", "/api/redoc"))

    @staticmethod
    def _json_error_for(status_code: int):
        if status_code == 404:
            return json_error(404, "not_found", "Not found.")
        if status_code == 405:
            return json_error(405, "method_not_allowed", "Method not allowed.")
        if status_code >= 500:
            return json_error(status_code, "server_error", "Something went wrong on our side.")
        return json_error(status_code, "error", "The request could not be served.")

    @staticmethod
    def _normalise_path(request) -> None:
        path = request.path_info
        urlconf = getattr(request, "urlconf", None)
        if _resolves(path, urlconf):
            return
        other = path[:-1] if path.endswith("/") else path + "/"
        if other != "/" and _resolves(other, urlconf):
            request.path_info = other
            request.path = request.META.get("SCRIPT_NAME", "").rstrip("/") + other


def _resolves(path: str, urlconf) -> bool:
    try:
        resolve(path, urlconf)
    except Resolver404:
        return False
    return True
