"""OpenAPI pieces shared by every endpoint: the error shape and its documented statuses."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorBody",
            fields={
                "code": serializers.CharField(help_text="Machine-readable, e.g. validation_error, not_found."),
                "message": serializers.CharField(help_text="Human-readable, safe to show."),
                "fields": serializers.DictField(
                    child=serializers.ListField(child=serializers.CharField()),
                    required=False,
                    help_text="Validation errors by field (nested fields joined with dots).",
                ),
            },
        )
    },
)

_DESCRIPTIONS = {
    400: "Invalid input; `error.fields` names each offending field.",
    401: "Missing, invalid, expired or revoked token.",
    403: "Authenticated but not allowed.",
    404: "Not found (also for objects that belong to someone else).",
    409: "Conflict: the same id was sent with a different body.",
    413: "Request body too large.",
    422: "Idempotency-Key reused with a different body.",
    429: "Throttled or locked; see the Retry-After header.",
}


class DeleteWithBodySchema(AutoSchema):
    """drf-spectacular documents no request body for DELETE; a DELETE that reads one (declared with
    `extend_schema(request=...)`) uses this schema so clients see the body, e.g. DELETE devices/."""

    def _get_request_body(self, direction="request"):
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        self.method = "POST"  # the base class only renders bodies for unsafe methods that are not DELETE
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"


def delete_with_body(view_method):
    """Mark a view's `delete` as reading a body; put it under `@extend_schema`."""
    view_method.schema = DeleteWithBodySchema
    return view_method


def ERROR_RESPONSES(*statuses: int) -> dict[int, OpenApiResponse]:  # noqa: N802 - reads like a constant
    return {code: OpenApiResponse(ErrorSerializer, description=_DESCRIPTIONS[code]) for code in statuses}


class TokenOrBearerScheme(OpenApiAuthenticationExtension):
    target_class = "tracker.accounts.api.authentication.TokenOrBearerAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <token>` or `Bearer <token>`, as returned by auth/login or auth/register.",
        }
