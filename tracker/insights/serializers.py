"""The trend report and weekly-summary shapes. They serialize the real report (strict: an undeclared
key is an error), so the OpenAPI schema generated from them is the body the API sends."""

import functools
from collections.abc import Mapping

from rest_framework import serializers

from tracker.common.weeks import iso_week_label
from tracker.insights.contracts import WEEK_OVER_WEEK_VALUES
from tracker.insights.trends import EXPLANATIONS, QUADRANTS
from tracker.models import WeeklySummary


# A JSON number written exactly as the engine computed it (an int stays an int: 4, not 4.0).
class NumberField(serializers.FloatField):
    def to_representation(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return super().to_representation(value)
        return value


# An output serializer for a plain report dict that refuses undeclared keys. Serializing silently
# drops keys a serializer does not declare; for a report that the declaration documents, such a key is
# drift between the engine and the schema, so it is an error instead. (A comment, not a docstring:
# drf-spectacular would copy a docstring into every subclass's schema description.)
class StrictOutputSerializer(serializers.Serializer):
    def to_representation(self, instance):
        if isinstance(instance, Mapping):
            undeclared = set(instance) - set(self.fields)
            if undeclared:
                raise TypeError(f"{type(self).__name__} does not declare {sorted(undeclared)}")
        return super().to_representation(instance)


NUMBER = {"allow_null": True}


class DimensionsSerializer(StrictOutputSerializer):
    anxiety = NumberField(**NUMBER)
    avoidance = NumberField(**NUMBER)
    distance_to_secure = NumberField(**NUMBER)


class WeekSerializer(StrictOutputSerializer):
    week_start = serializers.DateField(help_text="The local Monday that starts this ISO week.")
    iso_year = serializers.IntegerField()
    iso_week = serializers.IntegerField()
    checkins = serializers.IntegerField(help_text="Check-ins in that week's means (0: the means are null).")
    partial_checkins = serializers.IntegerField(
        help_text="Check-ins that week left out of the means: they did not answer every relationship target "
        "(ECR-RS), so they have no global score. Their per-target scores are in instrument.targets."
    )
    anxiety = NumberField(**NUMBER)
    avoidance = NumberField(**NUMBER)
    distance_to_secure = NumberField(**NUMBER)
    ewma = DimensionsSerializer(
        help_text="Smoothed weekly means (λ = 0.3); null before the first check-in or in empty weeks."
    )


class TrajectoryPointSerializer(StrictOutputSerializer):
    week_start = serializers.DateField()
    anxiety = NumberField()
    avoidance = NumberField()


def _interval():
    return serializers.ListField(child=NumberField(**NUMBER), min_length=2, max_length=2)


class IntervalsSerializer(StrictOutputSerializer):
    anxiety = _interval()
    avoidance = _interval()
    distance_to_secure = _interval()


class SlopeSerializer(StrictOutputSerializer):
    method = serializers.CharField(help_text="theil_sen: the median of all pairwise slopes.")
    n = serializers.IntegerField(help_text="Weekly points used (the last ≤ 12 weeks with check-ins).")
    max_points = serializers.IntegerField()
    unit = serializers.CharField()
    confidence = NumberField()
    per_week = DimensionsSerializer(help_text="Change per week; null under two points.")
    intercept = DimensionsSerializer()
    confidence_interval = IntervalsSerializer(help_text="[low, high] of the slope's 95% interval.")
    first_week = serializers.DateField(allow_null=True)
    last_week = serializers.DateField(allow_null=True)


class MannKendallResultSerializer(StrictOutputSerializer):
    s = serializers.IntegerField(help_text="Σ sign(later - earlier) over all pairs of weeks.")
    z = NumberField(**NUMBER)
    p = NumberField(allow_null=True, help_text="Two-sided; null when descriptive (n < 6).")
    trend = serializers.CharField(allow_null=True, help_text="increasing, decreasing, no_trend, or null.")


class MannKendallResultsSerializer(StrictOutputSerializer):
    anxiety = MannKendallResultSerializer()
    avoidance = MannKendallResultSerializer()
    distance_to_secure = MannKendallResultSerializer()


class MannKendallSerializer(StrictOutputSerializer):
    method = serializers.ChoiceField(choices=["mann_kendall", "descriptive"])
    n = serializers.IntegerField()
    min_n = serializers.IntegerField()
    alpha = NumberField()
    two_sided = serializers.BooleanField()
    tie_correction = serializers.BooleanField()
    continuity_correction = serializers.BooleanField()
    results = MannKendallResultsSerializer()


class ReliableChangeSerializer(StrictOutputSerializer):
    method = serializers.CharField(help_text="jacobson_truax_1991")
    threshold = NumberField(help_text="|RC| above this is a reliable change (1.96).")
    baseline_weeks = serializers.ListField(child=serializers.DateField())
    now_weeks = serializers.ListField(child=serializers.DateField())
    rc = NumberField(**NUMBER)
    reliable = serializers.BooleanField(allow_null=True)
    change = serializers.CharField(allow_null=True, help_text="improved, worsened, no_reliable_change.")
    sd = NumberField(**NUMBER)
    r = NumberField(**NUMBER)
    r_kind = serializers.CharField(
        allow_null=True, help_text="What kind of r: test-retest (over what interval), internal consistency, …"
    )
    provisional = serializers.BooleanField(
        allow_null=True, help_text="SD or r are provisional (not confirmed against a published source)."
    )
    source = serializers.CharField(allow_null=True)
    instrument = serializers.CharField(allow_null=True, help_text="code:version whose SD and r were used.")
    mixed_instruments = serializers.BooleanField(help_text="Always false: the series is one instrument's.")
    reason = serializers.CharField(allow_null=True, help_text="Why rc is null, if it is.")
    # Only when rc could be computed:
    baseline = NumberField(required=False, help_text="Mean of the first two weeks with check-ins.")
    now = NumberField(required=False, help_text="Mean of the last two weeks with check-ins in the window.")
    difference = NumberField(required=False)
    se_diff = NumberField(required=False)


class JointReliableChangeSerializer(StrictOutputSerializer):
    method = serializers.CharField(help_text="chi_square_2df: χ² = RCᵀ R⁻¹ RC over both dimensions.")
    df = serializers.IntegerField()
    alpha = NumberField(help_text="Reliable when p < alpha.")
    chi2 = NumberField(**NUMBER)
    p = NumberField(**NUMBER)
    reliable = serializers.BooleanField(allow_null=True)
    correlation = NumberField(**NUMBER, help_text="Correlation between the anxiety and avoidance scales used in R.")
    provisional = serializers.BooleanField(allow_null=True)
    source = serializers.CharField(allow_null=True, help_text="Source of the inter-scale correlation.")
    reason = serializers.CharField(allow_null=True, help_text="Why chi2 is null, if it is.")


class ReliableChangesSerializer(StrictOutputSerializer):
    anxiety = ReliableChangeSerializer()
    avoidance = ReliableChangeSerializer()
    joint = JointReliableChangeSerializer(help_text="Both dimensions at once (2 degrees of freedom).")


class StatisticsSerializer(StrictOutputSerializer):
    slope = SlopeSerializer()
    mann_kendall = MannKendallSerializer()
    reliable_change = ReliableChangesSerializer()


class DirectionSerializer(StrictOutputSerializer):
    value = serializers.ChoiceField(choices=["improving", "stable", "worsening", "insufficient_data"])
    reason = serializers.CharField()
    n = serializers.IntegerField()
    min_points = serializers.IntegerField()
    distance_slope_per_week = NumberField(**NUMBER)
    flat_slope_per_week = NumberField()
    reliable_worsening = serializers.ListField(child=serializers.CharField())


class QuadrantSerializer(StrictOutputSerializer):
    current = serializers.CharField(allow_null=True, help_text="secure, preoccupied, dismissing or fearful.")
    since = serializers.DateField(allow_null=True)
    latest_week = serializers.CharField(allow_null=True, help_text="The latest week's own quadrant.")
    pending = serializers.CharField(allow_null=True, help_text="A new quadrant seen once; two weeks in a row switch.")
    cut = NumberField()
    n = serializers.IntegerField()
    rule = serializers.CharField()
    boundary = serializers.CharField(help_text="Secure exactly when both dimensions are <= the cut (distance 0).")


class StrategySerializer(StrictOutputSerializer):
    strategy = serializers.CharField()
    family = serializers.CharField()
    episodes = serializers.IntegerField()
    mean_drop = NumberField(**NUMBER)
    n_with_drop = serializers.IntegerField()


class RegulationSerializer(StrictOutputSerializer):
    episodes = serializers.IntegerField()
    mean_intensity_before = NumberField(**NUMBER)
    n_intensity_before = serializers.IntegerField()
    mean_drop = NumberField(**NUMBER)
    n_drop = serializers.IntegerField()
    median_recovery_minutes = NumberField(**NUMBER)
    n_recovery = serializers.IntegerField()
    co_regulation_share = NumberField(**NUMBER)
    n_reached_out_answered = serializers.IntegerField()
    family_share = serializers.DictField(child=NumberField(**NUMBER))
    strategy_uses = serializers.IntegerField()
    strategies = StrategySerializer(many=True, help_text="Only strategies used in at least 3 episodes.")
    min_strategy_episodes = serializers.IntegerField()


class AdherenceSerializer(StrictOutputSerializer):
    value = NumberField(**NUMBER)
    done = serializers.IntegerField()
    asked = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_null=True)


TrendExplanationsSerializer = type(
    "TrendExplanationsSerializer",
    (StrictOutputSerializer,),
    {name: serializers.CharField() for name in EXPLANATIONS},
)


class TrendMetadataSerializer(StrictOutputSerializer):
    ewma_lambda = NumberField()
    slope_method = serializers.CharField()
    slope_max_points = serializers.IntegerField()
    trend_test = serializers.CharField()
    mann_kendall_min_n = serializers.IntegerField()
    alpha = NumberField()
    rci_method = serializers.CharField()
    rci_threshold = NumberField()
    direction_min_points = serializers.IntegerField()
    flat_slope_per_week = NumberField()
    quadrant_cut = NumberField()
    min_strategy_episodes = serializers.IntegerField()
    explanations = TrendExplanationsSerializer(help_text="Plain words for each part of the report.")
    weeks_requested = serializers.IntegerField()
    timezone = serializers.CharField(help_text="The user's IANA timezone the weeks are cut in.")
    window_start = serializers.DateField()
    window_end = serializers.DateField(help_text="Exclusive: the Monday after the current week.")
    current_week_included = serializers.BooleanField()
    generated_at = serializers.DateTimeField()


class InstrumentRefSerializer(StrictOutputSerializer):
    key = serializers.CharField(allow_null=True, help_text="code:version")
    code = serializers.CharField(allow_null=True)
    version = serializers.IntegerField(allow_null=True)


class SummaryWeekSerializer(StrictOutputSerializer):
    week_start = serializers.DateField()
    week = serializers.CharField()
    iso_year = serializers.IntegerField()
    iso_week = serializers.IntegerField()
    checkins = serializers.IntegerField()
    anxiety = NumberField(**NUMBER)
    avoidance = NumberField(**NUMBER)
    distance_to_secure = NumberField(**NUMBER)
    quadrant = serializers.ChoiceField(choices=QUADRANTS)


class TargetSeriesSerializer(StrictOutputSerializer):
    target = serializers.CharField(help_text="The relationship target (mother, father, partner, best_friend).")
    checkins = serializers.IntegerField(help_text="Check-ins in the window that answered this target.")
    weeks = SummaryWeekSerializer(many=True, help_text="This target's weekly means (weeks with answers only).")


def _targets():
    return TargetSeriesSerializer(
        many=True,
        allow_null=True,
        help_text="One series per relationship target, in the instrument's order, for instruments scored per "
        "target (ECR-RS); null for the others.",
    )


def _partial_checkins():
    return serializers.IntegerField(
        help_text="Check-ins in the window left out of the global series because they skipped a relationship "
        "target (the global score needs every target); 0 for instruments without targets."
    )


class PrimaryInstrumentSerializer(InstrumentRefSerializer):
    picked = serializers.ChoiceField(choices=["most_used", "requested", "requested_unavailable"])
    requested = serializers.CharField(allow_null=True)
    checkins = serializers.IntegerField(help_text="Check-ins with this instrument in the window's global series.")
    partial_checkins = _partial_checkins()
    targets = _targets()


class OtherInstrumentSerializer(InstrumentRefSerializer):
    checkins = serializers.IntegerField(help_text="Check-ins in its global series inside the window.")
    partial_checkins = _partial_checkins()
    weeks = SummaryWeekSerializer(many=True, help_text="Its own weekly means (weeks with check-ins only).")
    targets = _targets()


class TrendsSerializer(StrictOutputSerializer):
    instrument = PrimaryInstrumentSerializer(
        help_text="The instrument whose series and statistics are shown: the one asked for, else the most used."
    )
    other_instruments = OtherInstrumentSerializer(
        many=True, help_text="Other instruments used in the window, each with its own series (never averaged in)."
    )
    weeks = WeekSerializer(many=True, help_text="The requested local ISO weeks, oldest first, the current one last.")
    trajectory = TrajectoryPointSerializer(
        many=True, help_text="Weeks with check-ins on the anxiety x avoidance plane."
    )
    statistics = StatisticsSerializer()
    direction = DirectionSerializer()
    quadrant = QuadrantSerializer()
    regulation = RegulationSerializer()
    adherence = AdherenceSerializer()
    metadata = TrendMetadataSerializer(help_text="Thresholds, λ, method names and plain-words explanations.")


class WeeklySummaryPayloadSerializer(serializers.Serializer):
    """The keys of `tracker.insights.contracts.WeeklySummaryPayload` (a test keeps the two equal).

    Every field is optional on output: a stored row keeps the keys of the schema it was written
    with, and older rows lack keys added since."""

    schema = serializers.IntegerField(required=False, help_text="Version of this payload's shape.")
    week_start = serializers.DateField(required=False)
    week = serializers.CharField(required=False, help_text="ISO week label, e.g. 2026-W47.")
    iso_year = serializers.IntegerField(required=False)
    iso_week = serializers.IntegerField(required=False)
    checkins = serializers.IntegerField(
        required=False, help_text="Check-ins that week, every instrument (0: the means are null)."
    )
    instrument = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="Code of the week's primary instrument (most check-ins counted in the means; tie: the default "
        "instrument, then code order). The means, quadrant, week_over_week and tendency are this instrument's only: "
        "scores of different instruments are never averaged together. Null when no check-in has figures.",
    )
    anxiety = NumberField(required=False, **NUMBER)
    avoidance = NumberField(required=False, **NUMBER)
    distance_to_secure = NumberField(required=False, **NUMBER)
    quadrant = serializers.ChoiceField(choices=QUADRANTS, required=False, allow_null=True)
    quadrant_cut = NumberField(required=False)
    distance_change = NumberField(
        required=False, allow_null=True, help_text="Mean distance to secure minus the previous week's."
    )
    week_over_week = serializers.ChoiceField(
        choices=WEEK_OVER_WEEK_VALUES,
        required=False,
        help_text="The change in distance to secure since the previous week, within the same instrument; "
        "no_comparison unless that instrument has check-ins in both.",
    )
    tendency = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="secure, preoccupied, dismissing or fearful. The settled tendency: named only when this week "
        "and the previous one fell in the same "
        "quadrant (two-week rule); null otherwise. `quadrant` is this week's own position.",
    )
    safety_flags = serializers.IntegerField(
        required=False, help_text="Check-ins and logs of the week with a safety flag."
    )
    regulation = RegulationSerializer(required=False)

    def to_representation(self, instance):
        # Only the declared keys the stored row has (a missing key stays missing rather than null).
        if not isinstance(instance, Mapping):
            return {}
        return {
            name: None if instance[name] is None else field.to_representation(instance[name])
            for name, field in self.fields.items()
            if name in instance
        }


class WeeklySummarySerializer(serializers.ModelSerializer):
    week = serializers.SerializerMethodField(help_text="ISO week label, e.g. 2026-W47.")
    payload = WeeklySummaryPayloadSerializer(read_only=True)

    class Meta:
        model = WeeklySummary
        fields = ["week", "week_start", "iso_year", "iso_week", "payload", "computed_at", "notified_at"]
        read_only_fields = fields

    def get_week(self, obj) -> str:
        return iso_week_label(obj.week_start)


@functools.cache
def _trends_serializer() -> TrendsSerializer:
    return TrendsSerializer()


def trends_representation(report: Mapping) -> dict:
    """`TrendsSerializer(report).data` with one serializer per process: DRF deep-copies every declared
    field of every nested serializer when an instance is built (~30 of them per report, a quarter of
    a trends request, issue 14 B2); `to_representation` itself keeps no state, so one built instance
    serves every request of a (sync) worker with the same strict checks."""
    return _trends_serializer().to_representation(report)
