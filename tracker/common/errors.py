"""The one error vocabulary (DESIGN §3): what services, selectors and views raise for a 4xx.

Plain Python on purpose (no DRF, no django.http): services raise these, and the one exception
handler, `tracker.common.api.errors.exception_handler`, renders every one of them as
`{"error": {"code", "message", "fields"?}}` with `status` (and `Retry-After` for `Throttled`).
Callers that collect errors instead of answering with them (the sync batch) read the same
attributes. Subclass one of these for an error a caller must tell apart (e.g. `LoginLocked`)."""

from __future__ import annotations


class ApplicationError(Exception):
    """An expected failure with a status, a machine-readable code and a human message.

    `fields` maps an input field name to its messages (validation errors only)."""

    status: int = 400
    code: str = "error"
    message: str = "The request could not be processed."

    def __init__(
        self, message: str | None = None, *, code: str | None = None, fields: dict[str, list[str]] | None = None
    ):
        self.message = message if message is not None else type(self).message
        self.code = code if code is not None else type(self).code
        self.fields = fields
        super().__init__(self.message)


class Invalid(ApplicationError):
    """400: the input is wrong; `fields` says where (`{"name": ["…"]}`).

    Without a message, the handler words it like a serializer error ("see fields", or the only
    non-field message)."""

    status = 400
    code = "validation_error"

    def __init__(self, fields: dict[str, list[str]], message: str | None = None, *, code: str | None = None):
        super().__init__(message, code=code, fields={name: list(msgs) for name, msgs in fields.items()})
        self.message_given = message is not None


class Unauthenticated(ApplicationError):
    status = 401
    code = "not_authenticated"
    message = "Authentication credentials were not provided or are not valid."


class Forbidden(ApplicationError):
    status = 403
    code = "permission_denied"
    message = "You do not have permission to perform this action."


class NotFound(ApplicationError):
    status = 404
    code = "not_found"
    message = "Not found."


class Conflict(ApplicationError):
    status = 409
    code = "conflict"
    message = "This conflicts with the current state of the resource."


class RequestTooLarge(ApplicationError):
    status = 413
    code = "request_too_large"
    message = "The request is too large."


class IdempotencyMismatch(ApplicationError):
    status = 422
    code = "idempotency_mismatch"
    message = "This Idempotency-Key was already used for a different request."


class Throttled(ApplicationError):
    """429: try again after `retry_after` seconds (sent as `Retry-After`, at least 1)."""

    status = 429
    code = "throttled"
    message = "Too many requests; retry later."

    def __init__(self, retry_after: int | float, message: str | None = None, *, code: str | None = None):
        super().__init__(message, code=code)
        self.retry_after = retry_after
