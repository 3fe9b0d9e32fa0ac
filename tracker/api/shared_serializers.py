"""Read-only shapes of a client's data as a therapist sees it (scope-cut).

Interim: minimal serializers over the entry models until the check-ins / regulation-logs issue's
serializers are merged; then these subclass theirs and only add the note redaction."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tracker.models import CheckIn, RegulationLog, Scope, WeeklySummary


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


class SharedSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = WeeklySummary
        fields = ["week_start", "iso_year", "iso_week", "payload", "computed_at"]
        read_only_fields = fields
