from django.conf import settings

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
