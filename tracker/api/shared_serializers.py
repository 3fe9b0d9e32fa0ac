"""Read-only shapes of a client's data as a therapist sees it (scope-cut).

Check-ins and regulation logs: interim minimal serializers over the entry models until the
check-ins / regulation-logs issue's serializers are merged (then these subclass theirs and only add
the note redaction). Summaries and trends reuse the trends issue's serializers."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tracker.api.trends import RegulationSerializer, TrendsSerializer, WeeklySummarySerializer
from tracker.models import CheckIn, RegulationLog, Scope


class PersonSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    display_name = serializers.CharField()


class ScoresSerializer(serializers.Serializer):
    anxiety = serializers.FloatField()
    avoidance = serializers.FloatField()
    self_model = serializers.FloatField()
    other_model = serializers.FloatField()
    quadrant = serializers.CharField()
    distance_to_secure = serializers.FloatField()


class RedactedNoteMixin(serializers.Serializer):
    """`note` is null unless the grant in the context shares notes (an empty note is "")."""

    note = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="null: notes are not shared."))
    def get_note(self, obj):
        grant = self.context.get("grant")
        if grant is None or not grant.allows(Scope.NOTES):
            return None
        return obj.note


class SharedCheckInSerializer(RedactedNoteMixin, serializers.ModelSerializer):
    instrument = serializers.CharField(source="instrument.code")
    instrument_version = serializers.IntegerField(source="instrument.version")
    scores = serializers.SerializerMethodField()

    class Meta:
        model = CheckIn
        fields = [
            "id",
            "instrument",
            "instrument_version",
            "occurred_at",
            "utc_offset_minutes",
            "responses",
            "scores",
            "note",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(ScoresSerializer)
    def get_scores(self, obj):
        return {
            "anxiety": obj.anxiety,
            "avoidance": obj.avoidance,
            "self_model": obj.self_model,
            "other_model": obj.other_model,
            "quadrant": obj.quadrant,
            "distance_to_secure": obj.distance_to_secure,
        }


class SharedRegulationLogSerializer(RedactedNoteMixin, serializers.ModelSerializer):
    class Meta:
        model = RegulationLog
        fields = [
            "id",
            "occurred_at",
            "utc_offset_minutes",
            "trigger",
            "trigger_target",
            "emotions",
            "intensity_before",
            "intensity_after",
            "strategies",
            "reached_out",
            "reached_out_helped",
            "recovery_minutes",
            "safety_flag",
            "note",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


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


class DigestSerializer(serializers.Serializer):
    since = serializers.DateTimeField(help_text="The last marked session, or when the share began.")
    last_session_at = serializers.DateTimeField(allow_null=True)
    checkins = DigestCheckinsSerializer(allow_null=True, help_text="null: check-ins are not shared.")
    regulation = DigestRegulationSerializer(allow_null=True, help_text="null: regulation logs are not shared.")
    summaries = DigestSummariesSerializer(allow_null=True, help_text="null: summaries are not shared.")
