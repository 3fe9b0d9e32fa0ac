"""Check-in shapes: the API's, sync's, the therapist's and the export's (one declaration each)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tracker.common.api.fields import (
    CanonicalUUIDField,
    OffsetDateTimeField,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    WholeItemSerializer,
    local_isoformat,
    offset_minutes,
)
from tracker.common.api.reuse import reusable
from tracker.entries.selectors.instruments import InstrumentCatalog
from tracker.entries.serializers.regulation import (
    CrisisResourcesMixin,
    SafetyReasonField,
    SafetyReasonTextField,
)
from tracker.entries.services import checkins as checkin_services
from tracker.entries.services.entries import EntryWrite, edit_window
from tracker.insights import scoring
from tracker.models import CheckIn

NOTE_MAX_LENGTH = 4000


# --- Read shape ------------------------------------------------------------------------------------
class TargetScoresSerializer(serializers.Serializer):
    anxiety = serializers.FloatField(help_text="1-7; mean of the anxiety items (reverse keys applied).")
    avoidance = serializers.FloatField(help_text="1-7; mean of the avoidance items (reverse keys applied).")
    self_model = serializers.FloatField(help_text="8 - anxiety: how worthy of care you feel (1-7).")
    other_model = serializers.FloatField(help_text="8 - avoidance: how available others seem (1-7).")
    quadrant = serializers.ChoiceField(
        choices=scoring.QUADRANTS,
        help_text=(
            "A tendency label at the configured cut c (default 4), never a diagnosis: secure exactly when both "
            "dimensions are <= c (distance_to_secure 0); preoccupied anxiety > c; dismissing avoidance > c; "
            "fearful both > c."
        ),
    )
    distance_to_secure = serializers.FloatField(
        help_text="sqrt(max(0, avoidance - c)² + max(0, anxiety - c)²); 0 exactly when the quadrant is secure "
        "(both dimensions <= c, the cut included)."
    )


class ScoresSerializer(TargetScoresSerializer):
    model_of_self = serializers.IntegerField(
        required=False, help_text="RQ only: (secure + dismissing) - (fearful + preoccupied), -12…+12."
    )
    model_of_others = serializers.IntegerField(
        required=False, help_text="RQ only: (secure + preoccupied) - (fearful + dismissing), -12…+12."
    )
    targets = serializers.DictField(
        child=TargetScoresSerializer(),
        required=False,
        help_text=(
            "ECR-RS only: one score set per answered relationship target; the headline scores are the global "
            "score (mean of all four targets) and `partial` is true when not all four were answered."
        ),
    )
    partial = serializers.BooleanField(
        required=False,
        help_text="ECR-RS only: true when not every relationship target was answered, so the headline scores "
        "are the mean of the answered targets, not the global score.",
    )


class ResponseItemSerializer(WholeItemSerializer):
    item = StrictIntegerField(min_value=1, help_text="Item number (1-based) in the instrument version.")
    value = StrictIntegerField(help_text="The answer on the instrument's scale (e.g. 1-7).")
    target = StrictCharField(
        required=False,
        max_length=32,
        help_text="ECR-RS only: the relationship target this answer is about (mother, father, partner, best_friend).",
    )


class CheckInSerializer(serializers.ModelSerializer):
    instrument = serializers.CharField(source="instrument.code", help_text="Instrument code, e.g. `wmc`.")
    instrument_version = serializers.IntegerField(
        source="instrument.version", help_text="The instrument version this check-in is scored with (pinned)."
    )
    occurred_at = serializers.SerializerMethodField(help_text="When it happened, in the phone's offset at the time.")
    responses = ResponseItemSerializer(many=True)
    scores = serializers.SerializerMethodField()
    editable_until = serializers.SerializerMethodField(help_text="Edits are refused (409) after this time.")
    safety = serializers.BooleanField(
        source="safety_answer", allow_null=True, help_text="The answer to the optional safety question."
    )
    safety_flag = serializers.BooleanField(help_text="Set when the safety answer is yes; a shared therapist sees it.")
    safety_reason = SafetyReasonField()
    safety_reason_text = SafetyReasonTextField()

    class Meta:
        model = CheckIn
        fields = [
            "id",
            "instrument",
            "instrument_version",
            "occurred_at",
            "utc_offset_minutes",
            "responses",
            "note",
            "scores",
            "safety",
            "safety_flag",
            "safety_reason",
            "safety_reason_text",
            "revision",
            "created_at",
            "updated_at",
            "editable_until",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "note": {"help_text": "Free text, encrypted at rest."},
            "revision": {"help_text": "Increases with every edit; send it as `base_revision` when syncing an edit."},
            "utc_offset_minutes": {"help_text": "The phone's UTC offset when it happened, in minutes."},
        }

    @extend_schema_field(serializers.DateTimeField())
    def get_occurred_at(self, checkin: CheckIn) -> str:
        return local_isoformat(checkin.occurred_at, checkin.utc_offset_minutes)

    @extend_schema_field(ScoresSerializer)
    def get_scores(self, checkin: CheckIn) -> dict:
        return {
            "anxiety": checkin.anxiety,
            "avoidance": checkin.avoidance,
            "self_model": checkin.self_model,
            "other_model": checkin.other_model,
            "quadrant": checkin.quadrant,
            "distance_to_secure": checkin.distance_to_secure,
            **checkin.extra_scores,
        }

    @extend_schema_field(serializers.DateTimeField())
    def get_editable_until(self, checkin: CheckIn) -> str:
        return (checkin.created_at + edit_window()).isoformat()


class CheckInDetailSerializer(CrisisResourcesMixin, CheckInSerializer):
    """The single check-in shape (create, detail, edit): adds crisis resources when it is flagged."""

    class Meta(CheckInSerializer.Meta):
        fields = [*CheckInSerializer.Meta.fields, "crisis_resources"]
        read_only_fields = fields


# --- Write shapes ----------------------------------------------------------------------------------
class CheckInWriteSerializer(serializers.Serializer):
    """A check-in as the phone sends it (create, and full records in sync)."""

    id = CanonicalUUIDField(help_text="Generated by the phone (UUID); retrying with the same id is safe.")
    instrument = StrictCharField(
        max_length=32, required=False, help_text="Instrument code; the default instrument when left out."
    )
    instrument_version = StrictIntegerField(
        min_value=1, required=False, help_text="Instrument version; the newest version when left out."
    )
    occurred_at = OffsetDateTimeField(help_text="ISO 8601 with the phone's UTC offset; not in the future.")
    responses = serializers.ListField(
        child=ResponseItemSerializer(),
        allow_empty=False,
        max_length=400,
        help_text="Every item answered exactly once (per target).",
    )
    note = StrictCharField(
        max_length=NOTE_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        help_text="Optional free text, encrypted at rest.",
    )
    safety = StrictBooleanField(
        required=False,
        allow_null=True,
        help_text="Answer to the optional safety question (urges to harm yourself); true flags the check-in "
        "and the response carries crisis resources.",
    )

    def validate(self, attrs: dict) -> dict:
        if "safety" in attrs:
            attrs["safety_answer"] = attrs.pop("safety")
        catalog: InstrumentCatalog = self.context["catalog"]
        code, version = attrs.pop("instrument", None), attrs.pop("instrument_version", None)
        if code is None:
            if catalog.default is None:
                raise serializers.ValidationError({"instrument": ["No default instrument is configured."]})
            code = catalog.default.code
        if code not in catalog.latest:
            raise serializers.ValidationError({"instrument": [f"Unknown instrument “{code}”."]})
        instrument = catalog.latest[code] if version is None else catalog.by_version.get((code, version))
        if instrument is None:
            raise serializers.ValidationError({"instrument_version": [f"{code} has no version {version}."]})
        attrs["instrument"] = instrument
        attrs["utc_offset_minutes"] = offset_minutes(attrs["occurred_at"])
        return attrs


class CheckInUpdateSerializer(serializers.Serializer):
    occurred_at = OffsetDateTimeField(required=False)
    responses = serializers.ListField(child=ResponseItemSerializer(), allow_empty=False, max_length=400, required=False)
    note = StrictCharField(max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True, trim_whitespace=False)
    revision = StrictIntegerField(
        min_value=1,
        required=False,
        help_text="If given, the edit is refused (409) unless this is the current revision.",
    )

    def validate(self, attrs: dict) -> dict:
        if "occurred_at" in attrs:
            attrs["utc_offset_minutes"] = offset_minutes(attrs["occurred_at"])
        return attrs


def checkin_write_from_record(
    *, op: str, id, record: dict | None, base_revision: int | None, catalog: InstrumentCatalog
) -> EntryWrite:
    """A sync batch item for a check-in → a validated write (raises ValidationError)."""
    if op == "delete":
        return EntryWrite(checkin_services.CheckInKind, "delete", id)
    # One serializer instance for every item of a batch (see tracker.common.api.reuse).
    fields = reusable(CheckInWriteSerializer).validate({**(record or {}), "id": str(id)}, context={"catalog": catalog})
    fields.pop("id")
    values = checkin_services.checkin_values(**fields, catalog=catalog)
    return EntryWrite(checkin_services.CheckInKind, op, id, values, base_revision=base_revision)
