"""Check-in endpoints and serializers.

`CheckInSerializer` is the read shape everywhere (list, detail, sync feed, therapist views); the
list and detail endpoints are the generic entry views (`tracker.entries.api.generic`)."""

from __future__ import annotations

from tracker.entries.api.generic import (
    EntryApi,
    EntryDetailView,
    EntryListView,
    ListQuerySerializer,
    detail_view_schema,
    list_view_schema,
)
from tracker.entries.selectors.entries import checkin_get, checkin_list
from tracker.entries.selectors.instruments import instrument_catalog
from tracker.entries.serializers.checkins import (
    CheckInDetailSerializer,
    CheckInSerializer,
    CheckInUpdateSerializer,
    CheckInWriteSerializer,
    checkin_write_from_record,
)
from tracker.entries.services import checkins as checkin_services
from tracker.models import CheckIn

# --- Views -----------------------------------------------------------------------------------------
CHECKIN_API = EntryApi(
    name=checkin_services.CheckInKind.name,
    model=CheckIn,
    serializer=CheckInSerializer,
    detail_serializer=CheckInDetailSerializer,
    write_serializer=CheckInWriteSerializer,
    update_serializer=CheckInUpdateSerializer,
    list_query=ListQuerySerializer,
    list=checkin_list,
    get=lambda *, user, id: checkin_get(user=user, checkin_id=id),
    create=checkin_services.checkin_create,
    update=lambda *, user, row, changes, base_revision: checkin_services.checkin_update(
        user=user, checkin=row, changes=changes, base_revision=base_revision
    ),
    delete=lambda *, user, row: checkin_services.checkin_delete(user=user, checkin=row),
    write_from_record=checkin_write_from_record,
    write_context=lambda: {"catalog": instrument_catalog()},
)


@list_view_schema(
    CHECKIN_API,
    summary="List your check-ins, newest first (cursor pagination)",
    create_summary="Record a check-in (idempotent on the client-generated id)",
    create_description=(
        "Every item of the instrument version must be answered exactly once with a value on its scale. "
        "The same `id` with the same body returns the stored check-in (200); with a different body, or "
        "after it was deleted, 409."
    ),
    created="Created; the body carries the scores.",
    retried="A retry: this id was stored with this same body.",
)
class CheckInListView(EntryListView):
    api = CHECKIN_API


@detail_view_schema(
    CHECKIN_API,
    noun="check-in",
    edit_summary="Edit a check-in within the edit window (scores are recomputed)",
    edit_description=(
        "Scores are recomputed with the instrument version the check-in was created with. 409 "
        "`edit_window_closed` after `editable_until`; 409 `stale_revision` if `revision` is given and outdated."
    ),
    delete_summary="Delete a check-in (a tombstone remains for sync)",
)
class CheckInDetailView(EntryDetailView):
    api = CHECKIN_API
