"""Trends and weekly summaries: `GET trends/`, `GET summaries/`, `GET summaries/{week}/`.

The views only validate input and shape output; the numbers come from `tracker.insights.selectors`
(two queries whatever `weeks`) and the stored `WeeklySummary` rows.

The output serializers below are both the OpenAPI declaration and the code that writes the body:
`TrendsView` (and the therapist's client trends view) return `TrendsSerializer(report).data`. They are
`StrictOutputSerializer`s, which refuse a report object carrying a key they do not declare, so the
engine cannot grow a key that the schema lacks (it would fail every trends test), and a declared key
the engine does not write fails the schema test (tests/insights/test_trends_schema.py).
`WeeklySummaryPayloadSerializer` declares the keys of `tracker.insights.contracts.WeeklySummaryPayload`."""

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker.common.api.pagination import CursorPagination
from tracker.common.api.schema import ERROR_RESPONSES
from tracker.common.errors import NotFound
from tracker.common.weeks import ISO_WEEK_LABEL, InvalidIsoWeek, parse_iso_week
from tracker.insights.selectors import DEFAULT_WEEKS, MAX_WEEKS, trend_for_user
from tracker.insights.serializers import (
    TrendsSerializer,
    WeeklySummarySerializer,
    trends_representation,
)
from tracker.models import WeeklySummary


class TrendsQuerySerializer(serializers.Serializer):
    weeks = serializers.IntegerField(min_value=1, max_value=MAX_WEEKS, default=DEFAULT_WEEKS)
    instrument = serializers.RegexField(
        r"^[a-z0-9-]{1,32}(:[0-9]{1,6})?$",
        required=False,
        help_text="Show this instrument's series (`code` or `code:version`); default: the most used in the window.",
    )


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
        report = trend_for_user(
            user=request.user,
            weeks=query.validated_data["weeks"],
            instrument=query.validated_data.get("instrument"),
        )
        return Response(trends_representation(report))


class SummaryFilter(django_filters.FilterSet):
    # ISO dates only (YYYY-MM-DD), as the schema's `format: date` says; Django's other input formats
    # (03/01/2026, …) are ambiguous across locales.
    since = django_filters.DateFilter(
        field_name="week_start", lookup_expr="gte", input_formats=["%Y-%m-%d"], help_text="Weeks starting on/after."
    )
    until = django_filters.DateFilter(
        field_name="week_start", lookup_expr="lte", input_formats=["%Y-%m-%d"], help_text="Weeks starting on/before."
    )

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
        parameters=[
            OpenApiParameter(
                "week",
                {"type": "string", "pattern": r"^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$"},
                OpenApiParameter.PATH,
                description="ISO week, e.g. 2026-W47.",
            )
        ],
        responses={200: WeeklySummarySerializer, **ERROR_RESPONSES(400, 401, 404)},
        summary="One weekly summary of the current user",
    )
    def get(self, request, week: str):
        try:
            week_start = parse_iso_week(week)  # not a label like 2026-W47 → 400 on `week`
        except InvalidIsoWeek:
            if not ISO_WEEK_LABEL.match(week):
                raise
            # Well-formed but naming no week (2021-W53, year 0000): there is no such summary.
            raise NotFound("No summary for that week.") from None
        summary = generics.get_object_or_404(WeeklySummary, user=request.user, week_start=week_start)
        return Response(WeeklySummarySerializer(summary).data)
