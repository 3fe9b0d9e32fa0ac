"""Trends and weekly summaries: `GET trends/`, `GET summaries/`, `GET summaries/{week}/`.

The views only validate input and shape output; the numbers come from `tracker.insights.selectors`
(two queries whatever `weeks`) and the stored `WeeklySummary` rows. The serializers below document
the response for OpenAPI; the trend body itself is the selector's dict, returned as is."""

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker.common.api.pagination import CursorPagination
from tracker.common.api.schema import ERROR_RESPONSES
from tracker.common.weeks import iso_week_label, parse_iso_week
from tracker.insights.selectors import DEFAULT_WEEKS, MAX_WEEKS, trend_for_user
from tracker.models import WeeklySummary

NUMBER = {"allow_null": True}


class TrendsQuerySerializer(serializers.Serializer):
    weeks = serializers.IntegerField(min_value=1, max_value=MAX_WEEKS, default=DEFAULT_WEEKS)


class DimensionsSerializer(serializers.Serializer):
    anxiety = serializers.FloatField(**NUMBER)
    avoidance = serializers.FloatField(**NUMBER)
    distance_to_secure = serializers.FloatField(**NUMBER)


class WeekSerializer(serializers.Serializer):
    week_start = serializers.DateField(help_text="The local Monday that starts this ISO week.")
    iso_year = serializers.IntegerField()
    iso_week = serializers.IntegerField()
    checkins = serializers.IntegerField(help_text="Check-ins that week (0: the means are null).")
    anxiety = serializers.FloatField(**NUMBER)
    avoidance = serializers.FloatField(**NUMBER)
    distance_to_secure = serializers.FloatField(**NUMBER)
    ewma = DimensionsSerializer(
        help_text="Smoothed weekly means (λ = 0.3); null before the first check-in or in empty weeks."
    )


class TrajectoryPointSerializer(serializers.Serializer):
    week_start = serializers.DateField()
    anxiety = serializers.FloatField()
    avoidance = serializers.FloatField()


class SlopeSerializer(serializers.Serializer):
    method = serializers.CharField(help_text="theil_sen: the median of all pairwise slopes.")
    n = serializers.IntegerField(help_text="Weekly points used (the last ≤ 12 weeks with check-ins).")
    max_points = serializers.IntegerField()
    unit = serializers.CharField()
    confidence = serializers.FloatField()
    per_week = DimensionsSerializer(help_text="Change per week; null under two points.")
    intercept = DimensionsSerializer()
    confidence_interval = serializers.DictField(child=serializers.ListField(child=serializers.FloatField(**NUMBER)))
    first_week = serializers.DateField(allow_null=True)
    last_week = serializers.DateField(allow_null=True)


class MannKendallResultSerializer(serializers.Serializer):
    s = serializers.IntegerField(help_text="Σ sign(later - earlier) over all pairs of weeks.")
    z = serializers.FloatField(**NUMBER)
    p = serializers.FloatField(allow_null=True, help_text="Two-sided; null when descriptive (n < 6).")
    trend = serializers.CharField(allow_null=True, help_text="increasing, decreasing, no_trend, or null.")


class MannKendallSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=["mann_kendall", "descriptive"])
    n = serializers.IntegerField()
    min_n = serializers.IntegerField()
    alpha = serializers.FloatField()
    two_sided = serializers.BooleanField()
    tie_correction = serializers.BooleanField()
    continuity_correction = serializers.BooleanField()
    results = serializers.DictField(child=MannKendallResultSerializer())


class ReliableChangeSerializer(serializers.Serializer):
    method = serializers.CharField(help_text="jacobson_truax_1991")
    threshold = serializers.FloatField(help_text="|RC| above this is a reliable change (1.96).")
    baseline_weeks = serializers.ListField(child=serializers.DateField())
    now_weeks = serializers.ListField(child=serializers.DateField())
    baseline = serializers.FloatField(required=False, **NUMBER)
    now = serializers.FloatField(required=False, **NUMBER)
    difference = serializers.FloatField(required=False, **NUMBER)
    se_diff = serializers.FloatField(required=False, **NUMBER)
    rc = serializers.FloatField(**NUMBER)
    reliable = serializers.BooleanField(allow_null=True)
    change = serializers.CharField(allow_null=True, help_text="improved, worsened, no_reliable_change.")
    sd = serializers.FloatField(**NUMBER)
    r = serializers.FloatField(**NUMBER)
    provisional = serializers.BooleanField(allow_null=True, help_text="SD and r are our own provisional values.")
    source = serializers.CharField(allow_null=True)
    instrument = serializers.CharField(allow_null=True, help_text="code:version whose SD and r were used.")
    mixed_instruments = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True, help_text="Why rc is null, if it is.")


class ReliableChangesSerializer(serializers.Serializer):
    anxiety = ReliableChangeSerializer()
    avoidance = ReliableChangeSerializer()


class StatisticsSerializer(serializers.Serializer):
    slope = SlopeSerializer()
    mann_kendall = MannKendallSerializer()
    reliable_change = ReliableChangesSerializer()


class DirectionSerializer(serializers.Serializer):
    value = serializers.ChoiceField(choices=["improving", "stable", "worsening", "insufficient_data"])
    reason = serializers.CharField()
    n = serializers.IntegerField()
    min_points = serializers.IntegerField()
    distance_slope_per_week = serializers.FloatField(**NUMBER)
    flat_slope_per_week = serializers.FloatField()
    reliable_worsening = serializers.ListField(child=serializers.CharField())


class QuadrantSerializer(serializers.Serializer):
    current = serializers.CharField(allow_null=True, help_text="secure, preoccupied, dismissing or fearful.")
    since = serializers.DateField(allow_null=True)
    latest_week = serializers.CharField(allow_null=True, help_text="The latest week's own quadrant.")
    pending = serializers.CharField(allow_null=True, help_text="A new quadrant seen once; two weeks in a row switch.")
    cut = serializers.FloatField()
    n = serializers.IntegerField()
    rule = serializers.CharField()


class StrategySerializer(serializers.Serializer):
    strategy = serializers.CharField()
    family = serializers.CharField()
    episodes = serializers.IntegerField()
    mean_drop = serializers.FloatField(**NUMBER)
    n_with_drop = serializers.IntegerField()


class RegulationSerializer(serializers.Serializer):
    episodes = serializers.IntegerField()
    mean_intensity_before = serializers.FloatField(**NUMBER)
    n_intensity_before = serializers.IntegerField()
    mean_drop = serializers.FloatField(**NUMBER)
    n_drop = serializers.IntegerField()
    median_recovery_minutes = serializers.FloatField(**NUMBER)
    n_recovery = serializers.IntegerField()
    co_regulation_share = serializers.FloatField(**NUMBER)
    n_reached_out_answered = serializers.IntegerField()
    family_share = serializers.DictField(child=serializers.FloatField(**NUMBER))
    strategy_uses = serializers.IntegerField()
    strategies = StrategySerializer(many=True, help_text="Only strategies used in at least 3 episodes.")
    min_strategy_episodes = serializers.IntegerField()


class AdherenceSerializer(serializers.Serializer):
    value = serializers.FloatField(**NUMBER)
    done = serializers.IntegerField()
    asked = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_null=True)


class TrendsSerializer(serializers.Serializer):
    weeks = WeekSerializer(many=True, help_text="The requested local ISO weeks, oldest first, the current one last.")
    trajectory = TrajectoryPointSerializer(
        many=True, help_text="Weeks with check-ins on the anxiety x avoidance plane."
    )
    statistics = StatisticsSerializer()
    direction = DirectionSerializer()
    quadrant = QuadrantSerializer()
    regulation = RegulationSerializer()
    adherence = AdherenceSerializer()
    metadata = serializers.DictField(help_text="Thresholds, λ, method names and plain-words explanations.")


class TrendsView(APIView):
    @extend_schema(
        parameters=[TrendsQuerySerializer],
        responses={200: TrendsSerializer, **ERROR_RESPONSES(400, 401)},
        summary="Weekly series and trend statistics of the current user",
        description="Local ISO weeks in the user's timezone; at most two database queries whatever `weeks`.",
    )
    def get(self, request):
        query = TrendsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(trend_for_user(user=request.user, weeks=query.validated_data["weeks"]))


class WeeklySummarySerializer(serializers.ModelSerializer):
    week = serializers.SerializerMethodField(help_text="ISO week label, e.g. 2026-W47.")

    class Meta:
        model = WeeklySummary
        fields = ["week", "week_start", "iso_year", "iso_week", "payload", "computed_at", "notified_at"]
        read_only_fields = fields

    def get_week(self, obj) -> str:
        return iso_week_label(obj.week_start)


class SummaryFilter(django_filters.FilterSet):
    since = django_filters.DateFilter(field_name="week_start", lookup_expr="gte", help_text="Weeks starting on/after.")
    until = django_filters.DateFilter(field_name="week_start", lookup_expr="lte", help_text="Weeks starting on/before.")

    class Meta:
        model = WeeklySummary
        fields = ["since", "until"]


class SummaryPagination(CursorPagination):
    ordering = ("-week_start", "-id")


class SummaryListView(generics.ListAPIView):
    serializer_class = WeeklySummarySerializer
    pagination_class = SummaryPagination
    filterset_class = SummaryFilter

    queryset = WeeklySummary.objects.none()  # for the schema; get_queryset scopes to the caller

    def get_queryset(self):
        return WeeklySummary.objects.filter(user=self.request.user)

    @extend_schema(
        summary="The current user's weekly summaries, newest first",
        responses={200: WeeklySummarySerializer(many=True), **ERROR_RESPONSES(400, 401, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SummaryDetailView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("week", str, OpenApiParameter.PATH, description="ISO week, e.g. 2026-W47.")],
        responses={200: WeeklySummarySerializer, **ERROR_RESPONSES(400, 401, 404)},
        summary="One weekly summary of the current user",
    )
    def get(self, request, week: str):
        week_start = parse_iso_week(week)  # InvalidIsoWeek → 400 on `week`
        summary = generics.get_object_or_404(WeeklySummary, user=request.user, week_start=week_start)
        return Response(WeeklySummarySerializer(summary).data)
