"""`GET/POST /api/v1/sync/`: the change feed and batch upload for offline phones (all entry types)."""

from __future__ import annotations

from functools import cached_property

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker.common.api.errors import application_error_body, flatten_fields
from tracker.common.api.fields import CanonicalUUIDField, canonical_uuid
from tracker.common.api.reuse import reusable
from tracker.common.api.schema import ERROR_RESPONSES
from tracker.common.errors import ApplicationError, Invalid, NotFound, RequestTooLarge
from tracker.entries.api.checkins import CHECKIN_API
from tracker.entries.api.generic import EntryApi
from tracker.entries.api.regulation import REGULATION_LOG_API
from tracker.entries.selectors.entries import CursorAhead, change_feed
from tracker.entries.selectors.instruments import InstrumentCatalog, instrument_catalog
from tracker.entries.serializers.regulation import CrisisResourcesSerializer
from tracker.entries.services import regulation as regulation_services
from tracker.entries.services.entries import EntryWrite, WriteOutcome
from tracker.entries.services.sync import ENTRY_KINDS, BadCursor, cursor_decode, cursor_encode, sync_push

# The entry types' APIs by sync `type`: the same values the REST list/detail views are built from.
ENTRY_APIS: dict[str, EntryApi] = {api.name: api for api in (CHECKIN_API, REGULATION_LOG_API)}
assert set(ENTRY_APIS) == set(ENTRY_KINDS)

RecordSerializer = PolymorphicProxySerializer(
    component_name="SyncRecord",
    serializers=[api.serializer for api in ENTRY_APIS.values()],
    resource_type_field_name=None,
)


# --- Shapes ----------------------------------------------------------------------------------------
class ChangeSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=list(ENTRY_KINDS), help_text="The entry type.")
    op = serializers.ChoiceField(
        choices=["upsert", "delete"], help_text="upsert: store `record` as is; delete: drop the entry locally."
    )
    id = serializers.UUIDField()
    revision = serializers.IntegerField(help_text="The entry's revision after this change.")
    record = serializers.SerializerMethodField(help_text="The full entry for upserts; null for deletes.")
    deleted_at = serializers.DateTimeField(allow_null=True, help_text="Set for deletes.")

    @extend_schema_field(RecordSerializer)
    def get_record(self, change) -> dict | None:
        return change["record"]


def change_of(kind_name: str, row) -> dict:
    """A feed change for a row: an upsert with the full record, or a tombstone without any health data."""
    deleted = row.deleted_at is not None
    return {
        "type": kind_name,
        "op": "delete" if deleted else "upsert",
        "id": row.id,
        "revision": row.revision,
        "record": None if deleted else ENTRY_APIS[kind_name].serializer(row).data,
        "deleted_at": row.deleted_at,
    }


class FeedSerializer(serializers.Serializer):
    changes = ChangeSerializer(many=True, help_text="Oldest first; apply in order.")
    cursor = serializers.CharField(help_text="Pass as `cursor` on the next request (opaque).")
    has_more = serializers.BooleanField(help_text="True: fetch again right away with the new cursor.")


class SyncItemSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=list(ENTRY_KINDS))
    op = serializers.ChoiceField(
        choices=["create", "update", "delete"],
        help_text="create: a new entry (idempotent); update: the full edited record; delete: leave a tombstone.",
    )
    id = CanonicalUUIDField(help_text="The entry's client-generated id.")
    base_revision = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="update only: the revision the edit was made on; a different current revision is a conflict.",
    )
    record = serializers.DictField(
        required=False,
        help_text="create/update: the entry exactly as for its REST create (check-in or regulation log body).",
    )

    def validate(self, attrs):
        if attrs["op"] in ("create", "update") and "record" not in attrs:
            raise serializers.ValidationError({"record": ["Required for create and update."]})
        record_id = (attrs.get("record") or {}).get("id")
        if record_id is not None and canonical_uuid(record_id) != attrs["id"]:
            raise serializers.ValidationError({"record.id": ["Must equal the item's id (or be left out)."]})
        return attrs


# Schema-only shapes of a push item, one per entry type: `record` is that type's REST create body, so
# generated clients get a union discriminated by `type` (the view validates with SyncItemSerializer).
class SyncCheckInPushItemSerializer(SyncItemSerializer):
    record = CHECKIN_API.write_serializer(
        required=False,
        help_text="create/update: the check-in exactly as for its REST create (its `id` is the item's).",
    )


class SyncRegulationLogPushItemSerializer(SyncItemSerializer):
    record = REGULATION_LOG_API.write_serializer(
        required=False,
        help_text="create/update: the regulation log exactly as for its REST create (its `id` is the item's).",
    )


PUSH_ITEM_SERIALIZERS = {
    CHECKIN_API.name: SyncCheckInPushItemSerializer,
    REGULATION_LOG_API.name: SyncRegulationLogPushItemSerializer,
}
assert set(PUSH_ITEM_SERIALIZERS) == set(ENTRY_KINDS)


class BatchSerializer(serializers.Serializer):
    items = PolymorphicProxySerializer(
        component_name="SyncPushItem",
        serializers=PUSH_ITEM_SERIALIZERS,
        resource_type_field_name="type",
        many=True,
        help_text=f"At most {settings.SYNC_BATCH_MAX_ITEMS} items; more is refused with 413 and nothing is stored.",
    )


class ItemErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="validation_error, conflict, stale_revision, edit_window_closed, …")
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class ResultSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.CharField(help_text="The item's id as sent.")
    status = serializers.ChoiceField(
        choices=["created", "updated", "deleted", "unchanged", "conflict", "invalid"],
        help_text=(
            "created/updated/deleted: stored; unchanged: already stored like this (a retry); conflict: the "
            "server's version wins, see `current`; invalid: not stored, see `error`."
        ),
    )
    revision = serializers.IntegerField(allow_null=True, help_text="The entry's revision on the server, if visible.")
    error = ItemErrorSerializer(required=False)
    current = ChangeSerializer(
        required=False, allow_null=True, help_text="conflict only: the server's state of the entry, as a feed change."
    )
    crisis_resources = CrisisResourcesSerializer(
        required=False, help_text="Only for a stored entry whose safety flag is set: help for the user's country."
    )


class BatchResultSerializer(serializers.Serializer):
    results = ResultSerializer(many=True, help_text="One per item, in the order sent.")


class FeedQuerySerializer(serializers.Serializer):
    cursor = serializers.CharField(required=False, help_text="From the previous response; leave out to start over.")
    limit = serializers.IntegerField(
        min_value=1, max_value=settings.SYNC_PAGE_MAX, default=200, help_text="Changes per page."
    )


ITEM_INVALID = "The item is not valid; see fields."


def _item_error(exc: ApplicationError | serializers.ValidationError) -> dict:
    """The per-item `error`: an application error in the one error shape, or a serializer's errors."""
    if isinstance(exc, ApplicationError):
        return application_error_body(exc, invalid_message=ITEM_INVALID)
    fields = flatten_fields(exc.detail)
    return {"code": "validation_error", "message": ITEM_INVALID, "fields": fields}


# --- View ------------------------------------------------------------------------------------------
class _Catalog:
    @cached_property
    def value(self) -> InstrumentCatalog:
        return instrument_catalog()


class SyncView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", str, required=False, description="From the previous response; omit to start."),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": settings.SYNC_PAGE_MAX},
                required=False,
                description=f"1-{settings.SYNC_PAGE_MAX}, default 200.",
            ),
        ],
        responses={200: FeedSerializer, **ERROR_RESPONSES(400, 401, 404)},
        summary="Changes to your entries since a cursor (pull)",
        description=(
            "Every create, edit and delete of your check-ins and regulation logs after `cursor`, oldest first, "
            "deletes as tombstones. Apply the changes in order, store the new `cursor`, repeat while "
            "`has_more`: the phone then holds exactly the server's state."
        ),
    )
    def get(self, request):
        query = FeedQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            after = cursor_decode(query.validated_data.get("cursor"))
            page = change_feed(user=request.user, after=after, limit=query.validated_data["limit"])
        except (BadCursor, CursorAhead):
            # 404, as for every list's cursor that is not one of ours: any string is a well-formed
            # cursor (the schema cannot tell ours apart), so this is "no such place in your feed".
            raise NotFound("Not a cursor from this account's feed; start over.", code="invalid_cursor") from None
        body = {
            "changes": [change_of(kind.name, row) for kind, row in page.changes],
            "cursor": cursor_encode(page.last_seq),
            "has_more": page.has_more,
        }
        return Response(FeedSerializer(body).data)

    @extend_schema(
        request=BatchSerializer,
        responses={
            200: BatchResultSerializer,
            **ERROR_RESPONSES(400, 401, 413),
        },
        summary="Upload a batch of offline creates, edits and deletes (push)",
        description=(
            f"Up to {settings.SYNC_BATCH_MAX_ITEMS} items, answered one by one in order: valid items are stored "
            "even when others fail. Retrying a batch is safe (items come back `unchanged`). An id may appear "
            "only once per batch. 400 only when the body itself is malformed; 413 when it has too many items."
        ),
    )
    def post(self, request):
        items = request.data.get("items") if isinstance(request.data, dict) else None
        if not isinstance(items, list):
            raise serializers.ValidationError({"items": ["A list of sync items is required."]})
        if len(items) > settings.SYNC_BATCH_MAX_ITEMS:
            raise RequestTooLarge(
                f"At most {settings.SYNC_BATCH_MAX_ITEMS} items per batch; split it.", code="batch_too_large"
            )

        catalog = _Catalog()
        envelope = reusable(SyncItemSerializer)  # one instance for every item (tracker.common.api.reuse)
        results: list[dict | None] = [None] * len(items)
        writes: list[EntryWrite] = []
        positions: list[int] = []
        seen: set[tuple[str, str]] = set()
        for index, raw in enumerate(items):
            echo = {"type": str(raw.get("type", "")) if isinstance(raw, dict) else "", "revision": None}
            echo["id"] = str(raw.get("id", "")) if isinstance(raw, dict) else ""
            try:
                if not isinstance(raw, dict):
                    raise serializers.ValidationError({"non_field_errors": ["Each item must be an object."]})
                item = envelope.validate(raw)
                key = (item["type"], str(item["id"]))
                if key in seen:
                    raise Invalid({}, "This id already appears earlier in the batch.", code="duplicate_item")
                seen.add(key)
                write = ENTRY_APIS[item["type"]].write_from_record(
                    op=item["op"],
                    id=item["id"],
                    record=item.get("record"),
                    base_revision=item.get("base_revision"),
                    catalog=catalog.value,
                )
            except (serializers.ValidationError, ApplicationError) as exc:
                results[index] = {**echo, "status": "invalid", "error": _item_error(exc)}
                continue
            writes.append(write)
            positions.append(index)

        for index, outcome in zip(positions, sync_push(user=request.user, writes=writes), strict=True):
            results[index] = self._result(outcome, request.user)
        # Rendered as built: optional keys (`error`, `current`) are present only where they apply.
        return Response({"results": results})

    @staticmethod
    def _result(outcome: WriteOutcome, user) -> dict:
        visible = outcome.row  # None whenever the row is not this user's
        result = {
            "type": outcome.kind.name,
            "id": str(outcome.id),
            "status": outcome.status,
            "revision": visible.revision if visible is not None else None,
        }
        if outcome.error is not None:
            result["error"] = _item_error(outcome.error)
        if outcome.status == "conflict":
            current = change_of(outcome.kind.name, visible) if visible is not None else None
            result["current"] = ChangeSerializer(current).data if current is not None else None
        elif visible is not None and getattr(visible, "safety_flag", False):
            # A flagged entry uploaded offline gets the same help as one posted directly.
            result["crisis_resources"] = regulation_services.crisis_resources_for_user(user)
        return result
