"""Regulation-log shapes: the API's, sync's, the therapist's and the export's (one declaration each)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tracker.common.api.fields import (
    CanonicalUUIDField,
    OffsetDateTimeField,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    UniqueListField,
    WholeItemSerializer,
    local_isoformat,
    offset_minutes,
)
from tracker.common.api.reuse import reusable
from tracker.entries import vocabularies
from tracker.entries.services import regulation as regulation_services
from tracker.entries.services.entries import EntryWrite, edit_window
from tracker.models import RegulationLog, SafetyReason

NOTE_MAX_LENGTH = 4000


RECOVERY_MAX_MINUTES = 7 * 24 * 60


def _intensity(**kwargs) -> StrictIntegerField:
    return StrictIntegerField(min_value=vocabularies.INTENSITY_MIN, max_value=vocabularies.INTENSITY_MAX, **kwargs)


class StrictChoiceField(serializers.ChoiceField):
    default_error_messages = {"invalid_choice": "“{input}” is not one of the codes in /api/v1/vocabularies/."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class SafetyReasonField(serializers.ChoiceField):
    """Which rule raised `safety_flag`, as a code (null when the entry is not flagged)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("choices", SafetyReason.values)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("read_only", True)
        kwargs.setdefault(
            "help_text",
            "The rule that raised safety_flag: safety_answer (a yes to the safety question) or "
            "intensity_without_recovery (intensity >= 9 and no recovery recorded after a while); null when not "
            "flagged. When both apply it is safety_answer.",
        )
        super().__init__(**kwargs)

    def to_representation(self, value):
        return value or None


class SafetyReasonTextField(serializers.CharField):
    """The same rule in plain words, for people (the therapist's rows, the dashboard)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("source", "safety_reason")
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("help_text", "The rule behind safety_flag in plain words; null when not flagged.")
        super().__init__(**kwargs)

    def to_representation(self, value):
        return SafetyReason(value).label if value else None


class EmotionSerializer(WholeItemSerializer):
    label = StrictChoiceField(choices=list(vocabularies.EMOTIONS), help_text="An emotion code from the vocabulary.")
    intensity = _intensity(help_text="0-10.")


# --- Read shape ------------------------------------------------------------------------------------
class RegulationLogSerializer(serializers.ModelSerializer):
    occurred_at = serializers.SerializerMethodField(help_text="When it happened, in the phone's offset at the time.")
    emotions = EmotionSerializer(many=True)
    strategies = serializers.ListField(child=serializers.CharField(), help_text="Strategy codes.")
    strategy_families = serializers.SerializerMethodField(
        help_text="The families of the strategies used (engagement, disengagement, …), in vocabulary order."
    )
    safety = serializers.BooleanField(
        source="safety_answer", allow_null=True, help_text="The answer to the optional safety question."
    )
    safety_reason = SafetyReasonField()
    safety_reason_text = SafetyReasonTextField()
    complete = serializers.SerializerMethodField(help_text="True once intensity_after and recovery_minutes are in.")
    editable_until = serializers.SerializerMethodField(
        help_text="Full edits are refused (409) after this; empty completion fields can still be filled in."
    )

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
            "strategy_families",
            "reached_out",
            "reached_out_helped",
            "recovery_minutes",
            "safety",
            "safety_flag",
            "safety_reason",
            "safety_reason_text",
            "note",
            "complete",
            "revision",
            "created_at",
            "updated_at",
            "editable_until",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "note": {"help_text": "Free text, encrypted at rest."},
            "safety_flag": {
                "help_text": (
                    "Set when the safety answer is yes, or intensity >= 9 had no recovery recorded after a while."
                )
            },
            "revision": {"help_text": "Increases with every change; send it as `base_revision` when syncing an edit."},
            "trigger_target": {"help_text": "Who it was about (partner, parent, …), or empty."},
        }

    @extend_schema_field(serializers.DateTimeField())
    def get_occurred_at(self, log: RegulationLog) -> str:
        return local_isoformat(log.occurred_at, log.utc_offset_minutes)

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=list(vocabularies.STRATEGY_FAMILIES)))
    )
    def get_strategy_families(self, log: RegulationLog) -> list[str]:
        counts = vocabularies.strategies_by_family(log.strategies)
        return [family for family, count in counts.items() if count]

    def get_complete(self, log: RegulationLog) -> bool:
        return log.intensity_after is not None and log.recovery_minutes is not None

    @extend_schema_field(serializers.DateTimeField())
    def get_editable_until(self, log: RegulationLog) -> str:
        return (log.created_at + edit_window()).isoformat()


class CrisisResourceSerializer(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField(required=False, help_text="Number to call.")
    text = serializers.CharField(required=False, help_text="Number to text.")
    url = serializers.URLField(required=False)


class CrisisResourcesSerializer(serializers.Serializer):
    country = serializers.CharField(
        allow_null=True,
        help_text="ISO 3166 country of the entry used (profile country, else the locale's region); "
        "null: the international default.",
    )
    last_checked = serializers.DateField(help_text="When a person last verified these numbers.")
    message = serializers.CharField(help_text="What to do now. Securebase is not monitored in real time.")
    resources = CrisisResourceSerializer(many=True)


class CrisisResourcesMixin(serializers.Serializer):
    """Adds `crisis_resources` to the single shape of an entry (create, detail, edit): present when the
    entry is flagged, for the requesting user's country. Check-ins and regulation logs both use it."""

    crisis_resources = serializers.SerializerMethodField(
        help_text="Present (not null) when safety_flag is set: help for the user's country."
    )

    @extend_schema_field(CrisisResourcesSerializer(allow_null=True))
    def get_crisis_resources(self, entry) -> dict | None:
        if not entry.safety_flag:
            return None
        request = self.context.get("request")
        return regulation_services.crisis_resources_for_user(getattr(request, "user", None))


class RegulationLogDetailSerializer(CrisisResourcesMixin, RegulationLogSerializer):
    """The single-log shape (create, detail, edit): adds crisis resources when the log is flagged."""

    class Meta(RegulationLogSerializer.Meta):
        fields = [*RegulationLogSerializer.Meta.fields, "crisis_resources"]
        read_only_fields = fields


# --- Write shapes ----------------------------------------------------------------------------------
class RegulationLogFieldsSerializer(serializers.Serializer):
    occurred_at = OffsetDateTimeField(help_text="ISO 8601 with the phone's UTC offset; not in the future.")
    trigger = StrictChoiceField(choices=list(vocabularies.TRIGGERS), help_text="A trigger code.")
    trigger_target = StrictChoiceField(
        choices=list(vocabularies.TRIGGER_TARGETS),
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Who it was about; empty or null for nobody in particular.",
    )
    emotions = serializers.ListField(
        child=EmotionSerializer(),
        required=False,
        max_length=len(vocabularies.EMOTIONS),
        help_text="Each emotion at most once, with its intensity 0-10.",
    )
    intensity_before = _intensity(required=False, allow_null=True, help_text="0-10, at the start of the episode.")
    intensity_after = _intensity(
        required=False, allow_null=True, help_text="0-10, once it is over; needs intensity_before."
    )
    strategies = UniqueListField(
        item="strategy",
        child=StrictChoiceField(choices=list(vocabularies.STRATEGIES)),
        required=False,
        max_length=len(vocabularies.STRATEGIES),
        help_text="Strategy codes used (multi-select, each once).",
    )
    reached_out = StrictBooleanField(
        required=False, allow_null=True, help_text="Reached out to someone (true) or nobody (false)."
    )
    reached_out_helped = StrictBooleanField(
        required=False, allow_null=True, help_text="Whether reaching out helped; only with reached_out = true."
    )
    recovery_minutes = StrictIntegerField(
        min_value=0,
        max_value=RECOVERY_MAX_MINUTES,
        required=False,
        allow_null=True,
        help_text="Minutes until it eased.",
    )
    safety = StrictBooleanField(
        required=False,
        allow_null=True,
        help_text="Answer to the optional safety question (urges to harm yourself); true flags the log.",
    )
    note = StrictCharField(max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True, trim_whitespace=False)

    def validate_emotions(self, emotions):
        labels = [e["label"] for e in emotions]
        if len(set(labels)) != len(labels):
            raise serializers.ValidationError("Each emotion may appear only once.")
        return sorted((dict(e) for e in emotions), key=lambda e: e["label"])

    def validate_strategies(self, strategies):
        return sorted(strategies)  # each once: UniqueListField

    def validate(self, attrs):
        if "safety" in attrs:
            attrs["safety_answer"] = attrs.pop("safety")
        if "occurred_at" in attrs:
            attrs["utc_offset_minutes"] = offset_minutes(attrs["occurred_at"])
        if attrs.get("trigger_target", "") is None:
            attrs["trigger_target"] = ""
        return attrs


class RegulationLogWriteSerializer(RegulationLogFieldsSerializer):
    """A log as the phone sends it (create, and full records in sync)."""

    id = CanonicalUUIDField(help_text="Generated by the phone (UUID); retrying with the same id is safe.")


class RegulationLogUpdateSerializer(RegulationLogFieldsSerializer):
    revision = StrictIntegerField(
        min_value=1,
        required=False,
        help_text="If given, the edit is refused (409) unless this is the current revision.",
    )


def regulation_write_from_record(*, op: str, id, record: dict | None, base_revision: int | None, catalog=None):
    """A sync batch item for a regulation log → a validated write (raises ValidationError)."""
    if op == "delete":
        return EntryWrite(regulation_services.RegulationLogKind, "delete", id)
    fields = reusable(RegulationLogWriteSerializer).validate({**(record or {}), "id": str(id)})
    fields.pop("id")
    values = regulation_services.regulation_values(fields=fields)
    return EntryWrite(regulation_services.RegulationLogKind, op, id, values, base_revision=base_revision)
