"""Regulation-log endpoints and serializers, and the vocabularies the phone builds its pickers from.

`RegulationLogSerializer` is the read shape everywhere (list, sync feed, therapist views); the list
and detail endpoints are the generic entry views (`tracker.entries.api.generic`)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker.common.api.schema import ERROR_RESPONSES
from tracker.entries import vocabularies
from tracker.entries.api.generic import (
    EntryApi,
    EntryDetailView,
    EntryListView,
    ListQuerySerializer,
    detail_view_schema,
    list_view_schema,
)
from tracker.entries.selectors.entries import regulation_log_get, regulation_log_list
from tracker.entries.serializers.regulation import (
    CrisisResourcesSerializer,
    RegulationLogDetailSerializer,
    RegulationLogSerializer,
    RegulationLogUpdateSerializer,
    RegulationLogWriteSerializer,
    StrictChoiceField,
    regulation_write_from_record,
)
from tracker.entries.services import regulation as regulation_services
from tracker.models import RegulationLog


# --- Views -----------------------------------------------------------------------------------------
class RegulationListQuerySerializer(ListQuerySerializer):
    strategy = StrictChoiceField(
        choices=list(vocabularies.STRATEGIES), required=False, help_text="Only logs that used this strategy."
    )
    trigger = StrictChoiceField(choices=list(vocabularies.TRIGGERS), required=False, help_text="Only this trigger.")


REGULATION_LOG_API = EntryApi(
    name=regulation_services.RegulationLogKind.name,
    model=RegulationLog,
    serializer=RegulationLogSerializer,
    detail_serializer=RegulationLogDetailSerializer,
    write_serializer=RegulationLogWriteSerializer,
    update_serializer=RegulationLogUpdateSerializer,
    list_query=RegulationListQuerySerializer,
    list=regulation_log_list,
    get=lambda *, user, id: regulation_log_get(user=user, log_id=id),
    create=regulation_services.regulation_log_create,
    update=lambda *, user, row, changes, base_revision: regulation_services.regulation_log_update(
        user=user, log=row, changes=changes, base_revision=base_revision
    ),
    delete=lambda *, user, row: regulation_services.regulation_log_delete(user=user, log=row),
    write_from_record=regulation_write_from_record,
)


@list_view_schema(
    REGULATION_LOG_API,
    summary="List your regulation logs, newest first (cursor pagination)",
    create_summary="Log an emotion-regulation episode (idempotent on the client-generated id)",
    create_description=(
        "Log it while it happens and complete it later (PATCH intensity_after, recovery_minutes, …). "
        "The same `id` with the same body returns the stored log (200); with a different body, 409. "
        "A yes to the safety question flags the log and the response carries crisis resources for "
        "the user's locale."
    ),
    created="Created (crisis resources if flagged).",
)
class RegulationLogListView(EntryListView):
    api = REGULATION_LOG_API


@detail_view_schema(
    REGULATION_LOG_API,
    noun="log",
    edit_summary="Complete or edit a log",
    edit_description=(
        "Any field within the edit window; after it, only empty fields among intensity_after, "
        "recovery_minutes, reached_out and reached_out_helped can be filled in (else 409 "
        "`edit_window_closed`). 409 `stale_revision` if `revision` is given and outdated."
    ),
    delete_summary="Delete a log (a tombstone remains for sync)",
)
class RegulationLogDetailView(EntryDetailView):
    api = REGULATION_LOG_API


# --- Vocabularies ----------------------------------------------------------------------------------
class VocabularyEntrySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable code sent in logs; never reused.")
    label = serializers.CharField(help_text="English label (phones may localise by code).")
    since = serializers.IntegerField(help_text="Vocabulary version that added the entry.")


class StrategyFamilySerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    strategies = VocabularyEntrySerializer(many=True)


class IntensityScaleSerializer(serializers.Serializer):
    min = serializers.IntegerField()
    max = serializers.IntegerField()


class VocabulariesSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="Grows when entries are added; existing codes never change.")
    triggers = VocabularyEntrySerializer(many=True)
    trigger_targets = VocabularyEntrySerializer(many=True)
    emotions = VocabularyEntrySerializer(many=True)
    strategy_families = StrategyFamilySerializer(many=True)
    intensity = IntensityScaleSerializer()


class VocabulariesView(APIView):
    @extend_schema(
        responses={200: VocabulariesSerializer, **ERROR_RESPONSES(401)},
        summary="Triggers, relationship targets, emotions and strategies (by family) for the log pickers",
        description="Entries are only ever added: a phone should ignore codes it does not know yet.",
    )
    def get(self, request):
        return Response(vocabularies.as_payload())


class CrisisResourcesQuerySerializer(serializers.Serializer):
    country = serializers.RegexField(
        r"^[A-Za-z]{2}$",
        required=False,
        help_text="ISO 3166-1 alpha-2 country; default: the user's profile country, else their locale's region.",
    )


class CrisisResourcesView(APIView):
    @extend_schema(
        parameters=[CrisisResourcesQuerySerializer],
        responses={200: CrisisResourcesSerializer, **ERROR_RESPONSES(400, 401)},
        summary="Crisis resources for a country, for the phone to cache for offline use",
        description=(
            "The same resources a flagged check-in or log returns. Each entry carries `last_checked`; phones "
            "should refresh their cached copy when it changes. Securebase is not monitored in real time."
        ),
    )
    def get(self, request):
        query = CrisisResourcesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        country = query.validated_data.get("country")
        if country:
            body = regulation_services.crisis_resources(country.upper())
        else:
            body = regulation_services.crisis_resources_for_user(request.user)
        return Response(CrisisResourcesSerializer(body).data)
