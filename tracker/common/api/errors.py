"""The one error shape: `{"error": {"code", "message", "fields"?}}` with the right status."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

STATUS_CODES = {
    400: "validation_error",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "idempotency_mismatch",
    429: "throttled",
}


class ApiError(exceptions.APIException):
    """An error with an explicit machine-readable code, e.g. `ApiError(409, "conflict", "…")`."""

    def __init__(self, status_code: int, code: str, message: str, fields: dict | None = None):
        self.status_code = status_code
        self.error_code = code
        self.fields = fields
        super().__init__(detail=message, code=code)


def error_body(code: str, message: str, fields: dict | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def _flatten_fields(detail: Any) -> dict[str, list[str]]:
    """DRF validation detail → {"field": ["message", …]}, nested fields joined with dots."""
    fields: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list) and value and all(isinstance(v, (dict, list)) for v in value):
            for index, sub in enumerate(value):
                if sub:
                    walk(f"{prefix}.{index}" if prefix else str(index), sub)
        elif isinstance(value, list):
            fields.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in value)
        else:
            fields.setdefault(prefix or "non_field_errors", []).append(str(value))

    walk("", detail)
    return fields


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Render every API error as `{"error": {"code", "message", "fields"?}}` with its status."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None

    wait = getattr(exc, "wait", None)
    if wait is not None:
        response["Retry-After"] = str(max(1, int(wait + 0.999)))  # whole seconds, never 0

    if isinstance(exc, ApiError):
        response.data = error_body(exc.error_code, str(exc.detail), exc.fields)
        return response

    code = STATUS_CODES.get(response.status_code, "error")
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten_fields(exc.detail)
        message = "The request is not valid; see fields."
        if list(fields) == ["non_field_errors"]:
            message = fields["non_field_errors"][0]
        response.data = error_body("validation_error", message, fields)
    elif isinstance(exc, exceptions.Throttled):
        response.data = error_body("throttled", "Too many requests; retry later.")
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else exc
        response.data = error_body(code, str(detail))
    return response


def json_error(status_code: int, code: str, message: str) -> JsonResponse:
    """A plain Django JsonResponse in the API error shape, for middleware and handler404/500."""
    return JsonResponse(error_body(code, message), status=status_code)
