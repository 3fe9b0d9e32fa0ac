"""Read-only shapes of a client's data as a therapist sees it (scope-cut).

Check-ins and regulation logs subclass the client's own serializers and only add the note
redaction; summaries and trends reuse the trends serializers, so both sides see one shape."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tracker.entries.serializers.checkins import CheckInSerializer
from tracker.entries.serializers.regulation import RegulationLogSerializer
from tracker.insights.serializers import RegulationSerializer, TrendsSerializer, WeeklySummarySerializer
from tracker.models import Scope, ShareGrant
from tracker.sharing.models import ALL_SCOPES


class PersonSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    display_name = serializers.CharField()


class RedactedNoteMixin(serializers.Serializer):
    """`note` is null unless the grant in the context shares notes (an empty note is "")."""

    note = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="null: notes are not shared."))
    def get_note(self, obj):
        grant = self.context.get("grant")
        if grant is None or not grant.allows(Scope.NOTES):
            return None
        return obj.note


class SharedCheckInSerializer(RedactedNoteMixin, CheckInSerializer):
    """The client's own check-in shape, with the note redacted unless `notes` is granted."""

    class Meta(CheckInSerializer.Meta):
        pass


class SharedRegulationLogSerializer(RedactedNoteMixin, RegulationLogSerializer):
    """The client's own regulation-log shape, with the note redacted unless `notes` is granted."""

    class Meta(RegulationLogSerializer.Meta):
        pass


class SharedSummarySerializer(WeeklySummarySerializer):
    """The client's own summary shape, minus `notified_at` (their notification state is theirs)."""

    class Meta(WeeklySummarySerializer.Meta):
        fields = [f for f in WeeklySummarySerializer.Meta.fields if f != "notified_at"]
        read_only_fields = fields


class SharedTrendsSerializer(TrendsSerializer):
    regulation = RegulationSerializer(allow_null=True, help_text="null: regulation logs are not shared.")


class DigestCheckinsSerializer(serializers.Serializer):
    new = serializers.IntegerField()
    distance_to_secure_before = serializers.FloatField(allow_null=True)
    distance_to_secure_since = serializers.FloatField(allow_null=True)
    distance_to_secure_change = serializers.FloatField(allow_null=True, help_text="Negative: closer to secure.")


class DigestRegulationSerializer(RegulationSerializer):
    """The trends' regulation figures over the episodes since the session, every strategy included."""

    safety_flags = serializers.ListField(child=serializers.DateTimeField(), help_text="When each flagged episode was.")


class DigestSummariesSerializer(serializers.Serializer):
    new_weeks = serializers.ListField(child=serializers.DateField())


# The digest's header; `tracker.sharing.resources.DigestSerializer` adds one section per shared resource.
class DigestBaseSerializer(serializers.Serializer):
    since = serializers.DateTimeField(help_text="The last marked session, or when the share began.")
    last_session_at = serializers.DateTimeField(allow_null=True)


class ScopesField(serializers.ListField):
    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.ChoiceField(choices=ALL_SCOPES))
        kwargs.setdefault("allow_empty", False)
        kwargs.setdefault("max_length", len(ALL_SCOPES))
        super().__init__(**kwargs)


class GrantSerializer(serializers.ModelSerializer):
    """A share as its client sees it (`person` names the other side: the therapist)."""

    therapist = PersonSerializer()
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ALL_SCOPES))
    status = serializers.SerializerMethodField()

    class Meta:
        model = ShareGrant
        fields = [
            "id",
            "therapist",
            "scopes",
            "status",
            "created_at",
            "accepted_at",
            "revoked_at",
            "revoked_by",
            "expires_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "revoked_by": {"help_text": "Who ended the share: client or therapist (null while not revoked)."}
        }

    def get_status(self, obj) -> str:
        return obj.effective_status()


class HeldGrantSerializer(GrantSerializer):
    """A share as the therapist who holds it sees it: the same fields, with the client as the person."""

    therapist = None
    client = PersonSerializer()

    class Meta(GrantSerializer.Meta):
        fields = [("client" if name == "therapist" else name) for name in GrantSerializer.Meta.fields]
        read_only_fields = fields
