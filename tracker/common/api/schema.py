"""OpenAPI pieces shared by every endpoint: the error shape and its documented statuses."""

import json
import re

from django.core.validators import RegexValidator
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
    view_method.schema = DeleteWithBodyApiSchema
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


# --- Operation ids ---------------------------------------------------------------------------------
_VERBS = {"post": "create", "patch": "update", "put": "replace", "delete": "delete"}
# Action-like routes, where "create…" would not say what the call does.
OPERATION_IDS = {
    ("post", "/api/v1/auth/register/"): "register",
    ("post", "/api/v1/auth/login/"): "login",
    ("post", "/api/v1/auth/login/mfa/"): "loginSecondStep",
    ("get", "/api/v1/auth/mfa/"): "getSecondFactorStatus",
    ("post", "/api/v1/auth/mfa/totp/"): "startTotpEnrolment",
    ("post", "/api/v1/auth/mfa/totp/confirm/"): "confirmTotpEnrolment",
    ("post", "/api/v1/auth/logout/"): "logout",
    ("post", "/api/v1/auth/logout-all/"): "logoutAll",
    ("get", "/api/v1/me/"): "getMe",
    ("patch", "/api/v1/me/"): "updateMe",
    ("delete", "/api/v1/me/"): "deleteAccount",
    ("get", "/api/v1/me/export/"): "exportMyData",
    ("get", "/api/v1/sync/"): "syncPull",
    ("post", "/api/v1/sync/"): "syncPush",
    ("post", "/api/v1/shares/accept/"): "acceptShareInvite",
    ("post", "/api/v1/clinics/join/"): "joinClinic",
    ("put", "/api/v1/clinics/{clinic_id}/members/{member_id}/licence/"): "recordLicence",
    ("post", "/api/v1/clinics/{clinic_id}/members/{member_id}/licence/verify/"): "verifyLicence",
    ("post", "/api/v1/clinics/{clinic_id}/members/{member_id}/suspend/"): "suspendMember",
    ("post", "/api/v1/clinics/{clinic_id}/members/{member_id}/reinstate/"): "reinstateMember",
    ("delete", "/api/v1/clients/{client_id}/"): "endClientShare",
    ("delete", "/api/v1/devices/"): "deleteDeviceByToken",
    ("post", "/api/v1/inbox/read-all/"): "markAllInboxItemsRead",
    ("post", "/api/v1/inbox/{id}/read/"): "markInboxItemRead",
    ("post", "/api/v1/inbox/{id}/opened/"): "markInboxItemOpened",
}


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _pascal(segment: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in segment.replace("_", "-").split("-"))


MFA_REQUIRED = (
    "Not allowed. Among the reasons: `mfa_required` — a therapist or clinic admin who has not enrolled a "
    "second factor yet (auth/mfa/totp/) gets this on every route but login, logout, me and enrolment."
)

# What DRF's CharField refuses in a request body, as patterns: NUL anywhere (PostgreSQL text cannot
# hold it; ProhibitNullCharactersValidator), and, when blank is not allowed, a value that is only
# whitespace (trimmed to "" and refused). \s is Python's (str.isspace), as the server trims.
NO_NUL = "^[^\\u0000]*$"
NOT_BLANK_NO_NUL = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"


def declare_input_rules(field, schema: dict) -> None:
    """Add to a request field's schema the rules DRF enforces but drf-spectacular does not state:
    string patterns (above), `minItems: 1` for `allow_empty=False` lists, `uniqueItems` for lists
    that refuse duplicates (`UniqueListField`)."""
    if isinstance(field, serializers.ListField | serializers.ListSerializer) and schema.get("type") == "array":
        if not field.allow_empty:
            schema["minItems"] = max(schema.get("minItems", 0), 1)
        if getattr(field, "unique_items", False):
            schema["uniqueItems"] = True
    elif (
        isinstance(field, serializers.CharField)
        and schema.get("type") == "string"
        and not {"format", "enum", "pattern"} & set(schema)
        and not any(isinstance(v, RegexValidator) for v in field.validators)
    ):
        schema["pattern"] = NOT_BLANK_NO_NUL if not field.allow_blank and field.trim_whitespace else NO_NUL


class ApiAutoSchema(AutoSchema):
    """The API's AutoSchema: readable operation ids (`listCheckins`, `getCheckin`, `createCheckin`, …)
    and request bodies that state the rules DRF enforces (`declare_input_rules`)."""

    _request_depth = 0

    def _map_basic_serializer(self, serializer, direction):
        # drf-spectacular does not pass the direction on to _insert_field_validators: remember it.
        outer = self._request_depth
        self._request_depth = outer + 1 if direction == "request" else 0
        try:
            return super()._map_basic_serializer(serializer, direction)
        finally:
            self._request_depth = outer

    def _insert_field_validators(self, field, schema):
        super()._insert_field_validators(field, schema)
        if self._request_depth:
            declare_input_rules(field, schema)

    def get_operation(self, *args, **kwargs):
        """Declare the second-factor gate's 403 on every authenticated operation it guards
        (tracker.accounts.api.permissions.SecondFactorEnrolled; exempt views opt out)."""
        operation = super().get_operation(*args, **kwargs)
        if operation is None or getattr(self.view, "second_factor_exempt", False):
            return operation
        if {"tokenAuth": []} in operation.get("security", []):
            responses = operation.setdefault("responses", {})
            if "403" not in responses:
                responses["403"] = {
                    "description": MFA_REQUIRED,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
            else:
                responses["403"]["description"] += " " + MFA_REQUIRED
        return operation

    def get_operation_id(self):
        method = self.method.lower()
        explicit = OPERATION_IDS.get((method, self.path))
        if explicit:
            return explicit
        segments = [s for s in self.path.removeprefix("/api/v1/").strip("/").split("/") if s]
        words = []
        for index, segment in enumerate(segments):
            if segment.startswith("{"):
                continue
            followed_by_id = index + 1 < len(segments) and segments[index + 1].startswith("{")
            last = index == len(segments) - 1
            # A segment before another one names the owner (shares/invites → ShareInvites); the last
            # one is singular when it names one object (followed by its id, or created by a POST).
            if not last or method == "post" or followed_by_id:
                segment = _singular(segment)
            words.append(_pascal(segment))
        if method == "get":
            verb = "list" if self._is_list_view() else "get"
        else:
            verb = _VERBS[method]
        return verb + "".join(words)


class DeleteWithBodyApiSchema(ApiAutoSchema, DeleteWithBodySchema):
    pass


# --- Postprocessing: what every operation shares --------------------------------------------------
RETRY_AFTER = {
    "description": "Seconds to wait before retrying.",
    "schema": {"type": "integer", "minimum": 1},
}
REPLAYED = {
    "description": "`true` when this answer is the stored answer of an earlier request with the same Idempotency-Key.",
    "schema": {"type": "string", "enum": ["true"]},
}
_SHARED = {
    400: "Invalid input; `error.fields` names each offending field (also malformed or too deeply nested JSON).",
    401: _DESCRIPTIONS[401],
    404: _DESCRIPTIONS[404],
    413: _DESCRIPTIONS[413],
    414: "The URL (path and query string) is longer than the server accepts.",
    415: "The body is not `application/json`.",
    429: _DESCRIPTIONS[429],
}
# Component names a developer would write (drf-spectacular derives the left-hand ones).
COMPONENT_RENAMES = {
    "PatchedCheckInUpdateRequest": "CheckInPatch",
    "PatchedRegulationLogUpdateRequest": "RegulationLogPatch",
    "PatchedMeUpdateRequest": "MePatch",
    "PatchedGrantUpdateRequest": "SharePatch",
    "CheckInWriteRequest": "CheckInCreate",
    "RegulationLogWriteRequest": "RegulationLogCreate",
    "SyncItemRequest": "SyncPushItem",
    "SyncPushItemRequest": "SyncPushItem",
    "SyncCheckInPushItemRequest": "SyncCheckInPushItem",
    "SyncRegulationLogPushItemRequest": "SyncRegulationLogPushItem",
    "BatchRequest": "SyncPushBatch",
    "BatchResult": "SyncPushResults",
    "Result": "SyncPushResult",
    "ResultStatusEnum": "SyncPushStatus",
    "ItemError": "SyncItemError",
    "Change": "SyncChange",
    "ChangeOpEnum": "SyncChangeOp",
    "SyncItemOpEnum": "SyncPushOp",
    "Feed": "SyncFeed",
    "TypeEnum": "EntryType",
    "Item": "InstrumentItem",
    "ErrorBody": "ErrorDetail",
}
TAG_DESCRIPTIONS = {
    "auth": "Register, log in (one token per device), log out.",
    "me": "The signed-in user: profile, export, erasure.",
    "instruments": "Versioned questionnaires used by check-ins.",
    "checkins": "Belief check-ins (client-generated ids; idempotent creates).",
    "regulation-logs": "Regulation logs (client-generated ids; idempotent creates).",
    "vocabularies": "Triggers, emotions and strategies a regulation log may use.",
    "sync": "Offline sync: change feed (pull) and batch upload (push).",
    "trends": "Series and statistics toward a secure working model.",
    "summaries": "Stored weekly summaries.",
    "shares": "A client's shares with therapists: invites, scopes, revoke, access log.",
    "clinics": "Clinic admins: members, licences, suspension, invitations; therapists join by link.",
    "clients": "A verified therapist's view of the clients who share with them.",
    "reminders": "The user's reminder schedule.",
    "devices": "Push tokens of the user's devices.",
    "inbox": "In-app notifications and read receipts.",
}


def _rename_refs(node, renames: dict[str, str]):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name in renames:
                node["$ref"] = "#/components/schemas/" + renames[name]
        mapping = node.get("mapping")  # a discriminator's mapping holds refs as plain strings
        if isinstance(mapping, dict):
            for key, ref in mapping.items():
                name = ref.rsplit("/", 1)[1] if isinstance(ref, str) else None
                if name in renames:
                    mapping[key] = "#/components/schemas/" + renames[name]
        for value in node.values():
            _rename_refs(value, renames)
    elif isinstance(node, list):
        for value in node:
            _rename_refs(value, renames)


def _refs(node, found: set[str]) -> set[str]:
    """Names of the components `node` refers to (directly)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)
    return found


def _closure(names: set[str], schemas: dict) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        todo.extend(_refs(schemas[name], set()) - seen)
    return seen


def _request_defaults_as_text(result: dict, schemas: dict) -> None:
    """In components used only in request bodies, state a property's server-side default in its
    description instead of `default`: generators (openapi-typescript) read `default` as "always
    present" and would make optional request fields such as `note` required."""
    in_requests: set[str] = set()
    elsewhere: set[str] = set()
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            _refs(operation.get("requestBody", {}), in_requests)
            _refs(operation.get("responses", {}), elsewhere)
            _refs(operation.get("parameters", []), elsewhere)
    request_only = _closure(in_requests, schemas) - _closure(elsewhere, schemas)
    for name in request_only:
        for prop in schemas[name].get("properties", {}).values():
            if "default" in prop:
                default = json.dumps(prop.pop("default"))
                text = prop.get("description", "").rstrip()
                prop["description"] = (text + "\n\n" if text else "") + f"Default when left out: `{default}`."


def _discriminator_values(schemas: dict) -> None:
    """Each variant of a discriminated union declares its own discriminator value (a one-value
    enum), so generated clients narrow on it (`item.type === "checkin"` → a check-in record)."""
    for union in schemas.values():
        discriminator = union.get("discriminator") or {}
        field = discriminator.get("propertyName")
        for value, ref in (discriminator.get("mapping") or {}).items():
            variant = schemas.get(ref.rsplit("/", 1)[1], {})
            if field in variant.get("properties", {}):
                variant["properties"][field] = {"type": "string", "enum": [value]}
                if field not in variant.setdefault("required", []):
                    variant["required"].append(field)


def _parameter_enums_as_refs(result: dict, schemas: dict) -> None:
    """A query filter over a vocabulary (`?strategy=`, `?trigger=`) refers to the vocabulary's enum
    component instead of repeating it inline: one enum per concept in generated clients.
    drf-spectacular's enum hook only names the enums of component properties."""
    # Compared as sets of values: drf-spectacular sorts a parameter's enum, not a component's.
    components = {tuple(sorted(map(str, schema["enum"]))): name for name, schema in schemas.items() if "enum" in schema}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else ():
                schema = parameter.get("schema", {})
                name = components.get(tuple(sorted(map(str, schema.get("enum", ())))))
                if name and schema.get("type") == schemas[name].get("type"):
                    parameter["schema"] = {"$ref": f"#/components/schemas/{name}"}


def enum_varname(value: str) -> str:
    """A constant name for an enum value that stays distinct where generators' own would collide
    (openapi-python-client turns GMT0, GMT-0 and GMT+0 all into GMT0)."""
    name = value.replace("+", "_PLUS_").replace("-", "_MINUS_")
    return re.sub(r"_+", "_", re.sub(r"\W", "_", name)).strip("_").upper()


def _enum_varnames(schemas: dict) -> None:
    """`x-enum-varnames` (read by openapi-python-client and others) on the time zone enum."""
    zones = schemas.get("TimezoneEnum")
    if zones:
        zones["x-enum-varnames"] = [enum_varname(value) for value in zones["enum"]]


def _error_response(status: int) -> dict:
    response = {
        "description": _SHARED[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status == 429:
        response["headers"] = {"Retry-After": RETRY_AFTER}
    return response


def postprocess(result, generator, request, public):
    """Declare what every operation shares, so the schema says exactly what the server does.

    - 414 on every operation (the URL length limit); 400/413/415 on every operation that takes a body
      (the JSON parser, the size limit), 400 on every one with query parameters, 404 on every one with
      path parameters;
    - 404 also for a pagination cursor that is not one of ours;
    - 401 and 429 (with Retry-After) on every authenticated operation (the per-user throttle), 429 on
      the public auth routes (their own throttle);
    - `Idempotent-Replayed` on the 2xx answers of operations that honour Idempotency-Key;
    - component renames and tag descriptions."""
    schemas = result.get("components", {}).get("schemas", {})
    renames = {old: new for old, new in COMPONENT_RENAMES.items() if old in schemas and new not in schemas}
    for old, new in renames.items():
        schemas[new] = schemas.pop(old)
    _rename_refs(result, renames)
    result["components"]["schemas"] = dict(sorted(schemas.items()))
    _request_defaults_as_text(result, schemas)
    _discriminator_values(schemas)
    _parameter_enums_as_refs(result, schemas)
    _enum_varnames(schemas)
    record = schemas.get("SyncChange", {}).get("properties", {}).get("record")
    if record is not None:
        record["nullable"] = True  # deletes carry no record (tombstones hold no health data)

    for _path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            params = operation.get("parameters", [])
            statuses = {414, 429}
            if operation.get("security") != [{}] and {"tokenAuth": []} in operation.get("security", []):
                statuses.add(401)
            if "requestBody" in operation:
                statuses |= {400, 413, 415}
            if any(p.get("in") == "query" for p in params):
                statuses.add(400)
            if any(p.get("in") == "path" or (p.get("in"), p.get("name")) == ("query", "cursor") for p in params):
                statuses.add(404)
            for status in sorted(statuses):
                if str(status) not in responses:
                    responses[str(status)] = _error_response(status)
                elif status == 429:
                    responses["429"].setdefault("headers", {})["Retry-After"] = RETRY_AFTER
            for parameter in params:
                # An empty optional query parameter (`?until=`) counts as left out, everywhere (DRF and
                # django-filter read it so; the hand-read ones follow): say so, so clients and fuzzers know.
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
            if any(p.get("in") == "header" and p.get("name") == "Idempotency-Key" for p in params):
                for code, response in responses.items():
                    if code.startswith("2"):
                        response.setdefault("headers", {})["Idempotent-Replayed"] = REPLAYED
            operation["responses"] = dict(sorted(responses.items()))

    used = {tag for ops in result.get("paths", {}).values() for op in ops.values() for tag in op.get("tags", [])}
    result["tags"] = [{"name": tag, "description": TAG_DESCRIPTIONS.get(tag, tag.capitalize())} for tag in sorted(used)]
    return result
