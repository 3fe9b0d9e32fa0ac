"""`GET /me/export`: the user's data as one JSON document, in the shapes the rest of the API uses,
or (`?format=fhir`) as a FHIR R4 Bundle; `GET clients/<id>/export`: a therapist's FHIR export of one
client within the share's scopes.

Record shapes reuse the resource serializers (check-ins, logs, summaries, reminders, inbox, shares)
so an export reads like the API a developer already knows; only devices differ (masked token).
The FHIR document is built by `tracker.data_rights.fhir` (see docs/fhir.md)."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from tracker.accounts.serializers import UserSerializer
from tracker.common.api.formats import FHIR_JSON, ErrorsAsJsonMixin, FhirJSONRenderer, FormatParamNegotiation
from tracker.common.api.schema import ERROR_RESPONSES
from tracker.data_rights.fhir import fhir_bundle
from tracker.data_rights.sections import EXPORT_SECTIONS
from tracker.data_rights.selectors import fhir_source_for_grant, fhir_source_for_user, user_export
from tracker.entries.serializers.checkins import CheckInSerializer
from tracker.entries.serializers.regulation import RegulationLogSerializer
from tracker.insights.serializers import WeeklySummarySerializer
from tracker.models import AccessLogEntry, DeviceToken, ShareInvite, TherapySession
from tracker.sharing import services as sharing
from tracker.sharing.models import ALL_SCOPES
from tracker.sharing.resources import shared_resource_or_404
from tracker.sharing.serializers import GrantSerializer, HeldGrantSerializer, PersonSerializer


class ExportLoginTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeviceToken
        fields = ["device_name", "created", "expiry"]
        read_only_fields = fields


class ExportInviteSerializer(serializers.ModelSerializer):
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ALL_SCOPES))

    class Meta:
        model = ShareInvite
        fields = ["id", "scopes", "created_at", "expires_at", "grant_expires_at", "used_at"]
        read_only_fields = fields


class BetweenTwoSerializer(serializers.ModelSerializer):
    """A record about one share, naming both of its people (access-log rows, therapy sessions)."""

    grant = serializers.UUIDField(source="grant_id")
    client = PersonSerializer()
    therapist = PersonSerializer()


class ExportAccessLogEntrySerializer(BetweenTwoSerializer):
    class Meta:
        model = AccessLogEntry
        fields = ["id", "grant", "client", "therapist", "resource", "channel", "accessed_at"]
        read_only_fields = fields


class ExportTherapySessionSerializer(BetweenTwoSerializer):
    class Meta:
        model = TherapySession
        fields = ["id", "grant", "client", "therapist", "occurred_at", "created_at"]
        read_only_fields = fields


class UserExportBaseSerializer(serializers.Serializer):
    """The sections this package knows; `user_export_serializer()` adds the registered ones."""

    format_version = serializers.IntegerField(help_text="Bumped when the document's shape changes incompatibly.")
    exported_at = serializers.DateTimeField()
    deleted_records_excluded = serializers.BooleanField(
        help_text="Always true: records the user deleted (sync tombstones) are not part of the export."
    )
    profile = UserSerializer(source="user")
    checkins = CheckInSerializer(many=True, help_text="With decrypted notes and scores.")
    regulation_logs = RegulationLogSerializer(many=True)
    weekly_summaries = WeeklySummarySerializer(many=True)
    login_tokens = ExportLoginTokenSerializer(
        many=True, help_text="Logged-in devices (the tokens themselves are not stored)."
    )
    shares_given = GrantSerializer(many=True, help_text="Shares with therapists (as a client).")
    shares_held = HeldGrantSerializer(many=True, help_text="Clients' shares (as a therapist).")
    share_invites = ExportInviteSerializer(many=True, help_text="Invites created (the codes are not stored).")
    access_log = ExportAccessLogEntrySerializer(
        many=True, help_text="Therapist reads of the user's data, and (as a therapist) of clients' data."
    )
    therapy_sessions = ExportTherapySessionSerializer(many=True)


def user_export_serializer() -> type[serializers.Serializer]:
    """The export document's serializer: our own sections plus those other apps registered.

    Built when the URLconf is imported, i.e. after every `AppConfig.ready()` has registered."""
    registered = {name: section.serializer(source=f"sections.{name}") for name, section in EXPORT_SECTIONS.items()}
    return type("UserExportSerializer", (UserExportBaseSerializer,), registered)


UserExportSerializer = user_export_serializer()


class FhirBundleEntrySerializer(serializers.Serializer):
    fullUrl = serializers.CharField(help_text="`urn:uuid:<id>`; references inside the bundle use it.")  # noqa: N815
    resource = serializers.DictField(
        help_text="A FHIR R4 resource: Patient, Questionnaire, QuestionnaireResponse, Observation, "
        "Practitioner or Consent (see docs/fhir.md)."
    )


class FhirBundleSerializer(serializers.Serializer):
    """The outline of the FHIR R4 Bundle (for the schema; the body is built with fhir.resources)."""

    resourceType = serializers.ChoiceField(choices=["Bundle"])  # noqa: N815 - FHIR's element names
    id = serializers.CharField()
    type = serializers.ChoiceField(choices=["collection"])
    timestamp = serializers.DateTimeField()
    entry = FhirBundleEntrySerializer(many=True, required=False)


def json_errors(*statuses: int) -> dict:
    """Error responses pinned to `application/json` (without a media type, drf-spectacular would
    document them under every renderer of the view, `application/fhir+json` included)."""
    return {(status, "application/json"): response for status, response in ERROR_RESPONSES(*statuses).items()}


FORMAT = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    enum=["json", "fhir"],
    required=False,
    description="`json` (default): our JSON document. `fhir`: a FHIR R4 Bundle served as "
    f"`{FHIR_JSON}` (also chosen by `Accept: {FHIR_JSON}`). Any other value is a 400.",
)
FHIR_ONLY = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    enum=["fhir"],
    required=False,
    description="`fhir` (the default and only format). Any other value is a 400.",
)
FHIR_BUNDLE = OpenApiResponse(FhirBundleSerializer, description="A FHIR R4 Bundle of type `collection`.")


class MeExportView(ErrorsAsJsonMixin, APIView):
    # Expensive (every row of the user): its own hourly budget on top of the per-user rate.
    throttle_classes = [UserRateThrottle, ScopedRateThrottle]
    throttle_scope = "data_export"
    renderer_classes = [JSONRenderer, FhirJSONRenderer]
    content_negotiation_class = FormatParamNegotiation

    @extend_schema(
        parameters=[FORMAT],
        responses={
            (200, "application/json"): UserExportSerializer,
            (200, FHIR_JSON): FHIR_BUNDLE,
            **json_errors(400, 401, 429),
        },
        summary="Everything the server holds about you, as one JSON document (or a FHIR R4 Bundle)",
        description=(
            "Profile, check-ins (with notes and scores), regulation logs, weekly summaries, reminder "
            "schedule, devices (push tokens masked), inbox, deliveries, shares on both sides, the access "
            "log and therapy sessions. Live records only (`deleted_records_excluded`). Rate-limited "
            "(default 10 per hour, shared with the FHIR export).\n\n"
            f"`?format=fhir` (or `Accept: {FHIR_JSON}`): your clinical record as a FHIR R4 Bundle "
            "(Questionnaires, a QuestionnaireResponse per check-in, an Observation per subscale score and per "
            "regulation episode, a Consent per share you gave), served as `application/fhir+json`, without "
            "notes. Errors stay `application/json`."
        ),
    )
    def get(self, request):
        if request.accepted_renderer.format == "fhir":
            return Response(fhir_bundle(source=fhir_source_for_user(user=request.user), now=timezone.now()))
        return Response(UserExportSerializer(user_export(user=request.user)).data)


class ClientExportView(ErrorsAsJsonMixin, APIView):
    """A therapist's FHIR export of one client: only what the live share's scopes reach."""

    throttle_classes = [UserRateThrottle, ScopedRateThrottle]
    throttle_scope = "data_export"
    renderer_classes = [FhirJSONRenderer]
    content_negotiation_class = FormatParamNegotiation

    @extend_schema(
        parameters=[
            OpenApiParameter("client_id", type=str, location=OpenApiParameter.PATH, description="The client's id."),
            FHIR_ONLY,
        ],
        responses={(200, FHIR_JSON): FHIR_BUNDLE, **json_errors(400, 401, 404, 429)},
        summary="A client's shared data as a FHIR R4 Bundle (within the share's scopes)",
        description=(
            "Check-ins (Questionnaires, QuestionnaireResponses, score Observations) with scope `checkins`, "
            "regulation episodes with scope `regulation_logs`, and this share as a Consent. No notes. "
            "404 without a live share reaching any data scope. Each call is written to the client's access "
            "log (`export`). Rate-limited with your own exports (default 10 per hour)."
        ),
        tags=["clients"],
    )
    def get(self, request, client_id):
        grant = shared_resource_or_404(therapist=request.user, client_id=client_id, scope=None)
        bundle = fhir_bundle(source=fhir_source_for_grant(grant=grant), now=timezone.now())
        sharing.access_log_write(
            grants=[grant], resource=AccessLogEntry.Resource.EXPORT, channel=AccessLogEntry.Channel.API
        )
        return Response(bundle)
