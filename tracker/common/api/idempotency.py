"""The `Idempotency-Key` header on POSTs that are not client-id creates (DESIGN §4).

Decorate a DRF view's `post` with `@idempotent` and add `IDEMPOTENCY_KEY` to its schema parameters
(and 422 to its documented errors). Then:

- no header: the view runs exactly as before;
- a new key: the view runs inside one transaction that also inserts the key's record, so the record
  and the view's writes commit together (or not at all); a 2xx answer is stored with it;
- the same key again (same user, method, path and body hash) within IDEMPOTENCY_TTL_HOURS: the
  stored status and body are replayed, with `Idempotent-Replayed: true`, and the view does not run;
- the same key with another body or path: 422 `idempotency_mismatch`, nothing runs;
- a concurrent duplicate waits on the unique (user, key) index until the first request finishes,
  then replays its answer (or, if the first failed, runs itself). No 409 "in progress" is needed.

Only 2xx answers are stored: a 4xx releases the key, so a client can fix its request and retry with
the same key. The view's own writes before a 4xx are kept exactly as without the header. Keys are per
user. The request body is never stored, only its sha256; the stored response is encrypted at rest.
Unauthenticated POSTs (register, login) cannot use it: a key belongs to a user."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from tracker.common import idempotency as records
from tracker.common.errors import ApplicationError, Conflict, IdempotencyMismatch

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255

IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    # What _valid_key accepts: printable ASCII, not only spaces, at most MAX_KEY_LENGTH characters.
    {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[ -~]*[!-~][ -~]*$"},
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Optional, 1-255 printable ASCII characters, unique per request you mean (e.g. a UUID). A retry with "
        "the same key and body within 24 h gets the first 2xx answer again (with `Idempotent-Replayed: true`) "
        "and changes nothing; the same key with a different body or path is 422 `idempotency_mismatch`. "
        "Error answers are not kept: fix the request and retry with the same key."
    ),
)

# What a view may raise on the way to a 4xx: the key is released, the view's own writes are kept.
_CLIENT_ERRORS = (ApplicationError, exceptions.APIException, Http404, PermissionDenied)


def _valid_key(raw: str) -> str:
    if not raw.strip() or len(raw) > MAX_KEY_LENGTH or not all(" " <= ch <= "~" for ch in raw):
        raise serializers.ValidationError(
            {HEADER: [f"Must be 1-{MAX_KEY_LENGTH} printable ASCII characters, e.g. a UUID."]}
        )
    return raw


def _body_data(request: Request) -> object:
    data = request.data
    return dict(data.lists()) if hasattr(data, "lists") else data


def _replay(status: int, body_json: str) -> Response:
    return Response(json.loads(body_json) if body_json else None, status=status, headers={REPLAYED_HEADER: "true"})


def idempotent(post: Callable[..., Response]) -> Callable[..., Response]:
    """Honour `Idempotency-Key` on this view method (see the module docstring)."""

    @functools.wraps(post)
    def wrapper(self, request: Request, *args, **kwargs) -> Response:
        raw = request.headers.get(HEADER)
        if raw is None:
            return post(self, request, *args, **kwargs)
        key = _valid_key(raw)
        request_hash = records.request_fingerprint(_body_data(request))

        error: Exception | None = None
        with transaction.atomic():
            claim = records.idempotency_claim(
                user=request.user, key=key, method=request.method, path=request.path, request_hash=request_hash
            )
            record = claim.record
            if not claim.created:
                if (record.method, record.path, record.request_hash) != (request.method, request.path, request_hash):
                    raise IdempotencyMismatch(f"This {HEADER} was already used for a different request.")
                if record.response_status is None:  # unreachable: claims commit complete (defensive)
                    raise Conflict("A request with this key is still running.", code="idempotency_in_progress")
                return _replay(record.response_status, record.response_body)
            try:
                response = post(self, request, *args, **kwargs)
            except _CLIENT_ERRORS as exc:
                if transaction.get_rollback():
                    raise
                records.idempotency_release(record=record)
                error = exc
            else:
                if 200 <= response.status_code < 300 and hasattr(response, "data"):
                    body = "" if response.data is None else json.dumps(response.data, cls=JSONEncoder)
                    records.idempotency_store(record=record, status=response.status_code, body_json=body)
                else:
                    records.idempotency_release(record=record)
        if error is not None:
            raise error
        return response

    wrapper.idempotent = True  # type: ignore[attr-defined]  # found by the schema test
    return wrapper
