"""The one error shape: `{"error": {"code", "message", "fields"?}}` with the right status.

`exception_handler` (settings REST_FRAMEWORK["EXCEPTION_HANDLER"]) is the one place errors become
responses: the application errors of `tracker.common.errors` that services and views raise, and
DRF's own exceptions (serializer validation, authentication, throttles, 404/405/415, …)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from tracker.common.errors import ApplicationError, Invalid, Throttled

STATUS_CODES = {
    400: "validation_error",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "request_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "idempotency_mismatch",
    429: "throttled",
}


def error_body(code: str, message: str, fields: dict | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def flatten_fields(detail: Any) -> dict[str, list[str]]:
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


VALIDATION_MESSAGE = "The request is not valid; see fields."


def validation_message(fields: dict[str, list[str]], default: str = VALIDATION_MESSAGE) -> str:
    """How a validation error without a message of its own is worded: its only non-field message, or
    `default` (which points at `fields`)."""
    if list(fields) == ["non_field_errors"] and fields["non_field_errors"]:
        return fields["non_field_errors"][0]
    return default


def retry_after_header(seconds: float) -> str:
    return str(max(1, int(seconds + 0.999)))  # whole seconds, never 0


def application_error_body(exc: ApplicationError, *, invalid_message: str = VALIDATION_MESSAGE) -> dict[str, Any]:
    """The `error` object of an application error (also used per item by the sync batch)."""
    message = exc.message
    if isinstance(exc, Invalid) and not exc.message_given:
        message = validation_message(exc.fields or {}, invalid_message)
    return error_body(exc.code, message, exc.fields)["error"]


def _application_error_response(exc: ApplicationError) -> Response:
    set_rollback()  # as DRF does for its own exceptions (matters only with ATOMIC_REQUESTS)
    headers = {"Retry-After": retry_after_header(exc.retry_after)} if isinstance(exc, Throttled) else None
    return Response({"error": application_error_body(exc)}, status=exc.status, headers=headers)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Render every API error as `{"error": {"code", "message", "fields"?}}` with its status."""
    if isinstance(exc, ApplicationError):
        return _application_error_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None

    wait = exc.wait if isinstance(exc, exceptions.Throttled) else None
    if wait is not None:
        response["Retry-After"] = retry_after_header(wait)

    code = STATUS_CODES.get(response.status_code, "error")
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_fields(exc.detail)
        response.data = error_body("validation_error", validation_message(fields), fields)
    elif isinstance(exc, exceptions.Throttled):
        response.data = error_body("throttled", "Too many requests; retry later.")
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else exc
        response.data = error_body(code, str(detail))
    return response


def json_error(status_code: int, code: str, message: str) -> JsonResponse:
    """A plain Django JsonResponse in the API error shape, for middleware and handler404/500."""
    return JsonResponse(error_body(code, message), status=status_code)
