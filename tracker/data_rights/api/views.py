"""`GET /me/export`: the user's data as one JSON document, in the shapes the rest of the API uses.

Record shapes reuse the resource serializers (check-ins, logs, summaries, reminders, inbox, shares)
so an export reads like the API a developer already knows; only devices differ (masked token)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from tracker.accounts.serializers import UserSerializer
from tracker.common.api.schema import ERROR_RESPONSES
from tracker.data_rights.sections import EXPORT_SECTIONS
from tracker.data_rights.selectors import user_export
from tracker.entries.serializers.checkins import CheckInSerializer
from tracker.entries.serializers.regulation import RegulationLogSerializer
from tracker.insights.serializers import WeeklySummarySerializer
from tracker.models import AccessLogEntry, DeviceToken, ShareInvite, TherapySession
from tracker.sharing.models import ALL_SCOPES
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


class MeExportView(APIView):
    # Expensive (every row of the user): its own hourly budget on top of the per-user rate.
    throttle_classes = [UserRateThrottle, ScopedRateThrottle]
    throttle_scope = "data_export"

    @extend_schema(
        responses={200: UserExportSerializer, **ERROR_RESPONSES(401, 429)},
        summary="Everything the server holds about you, as one JSON document",
        description=(
            "Profile, check-ins (with notes and scores), regulation logs, weekly summaries, reminder "
            "schedule, devices (push tokens masked), inbox, deliveries, shares on both sides, the access "
            "log and therapy sessions. Live records only (`deleted_records_excluded`). Rate-limited "
            "(default 10 per hour)."
        ),
    )
    def get(self, request):
        return Response(UserExportSerializer(user_export(user=request.user)).data)
