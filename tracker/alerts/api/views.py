"""Alerts over the API: the client's rules per share (see and switch off), the therapist's alerts.

Thin views: the grant/alert lookups answer 404 for every kind of "no"; every therapist read of an
alert writes an access-log row like any other read of a client's data."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker.alerts import selectors, services
from tracker.alerts.models import AlertKind
from tracker.alerts.rules import RULES
from tracker.common.api.fields import StrictBooleanField
from tracker.common.api.schema import ERROR_RESPONSES
from tracker.common.errors import Forbidden
from tracker.models import AccessLogEntry
from tracker.sharing import services as sharing
from tracker.sharing.models import ALL_SCOPES
from tracker.sharing.selectors.grants import can_use_therapist_views, grant_for_client_or_404
from tracker.sharing.serializers import PersonSerializer

KIND = OpenApiParameter("kind", type=str, enum=list(RULES), location=OpenApiParameter.PATH, description="The rule.")


class AlertRuleSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AlertKind.choices)
    label = serializers.CharField()
    description = serializers.CharField(help_text="What makes it fire, with its current parameter.")
    enabled = serializers.BooleanField()
    reads = serializers.ListField(
        child=serializers.ChoiceField(choices=ALL_SCOPES), help_text="The scopes whose data the rule reads."
    )
    applies = serializers.BooleanField(help_text="False when the share holds none of the scopes the rule reads.")
    active = serializers.BooleanField(help_text="Whether its condition holds now (an alert was raised for it).")


class AlertRuleUpdateSerializer(serializers.Serializer):
    enabled = StrictBooleanField(help_text="false: the rule never fires and its alerts are hidden from the therapist.")


def _rule_body(rule, grant) -> dict:
    spec = RULES[rule.kind]
    return {
        "kind": rule.kind,
        "label": spec.label,
        "description": spec.describe(),
        "enabled": rule.enabled,
        "reads": [str(s) for s in spec.scopes],
        "applies": any(grant.allows(s) for s in spec.scopes),
        "active": rule.active_since is not None,
    }


def _ordered(rules) -> list:
    order = list(RULES)
    return sorted(rules, key=lambda rule: order.index(rule.kind))


class AlertRuleListView(APIView):
    @extend_schema(
        responses={200: AlertRuleSerializer(many=True), **ERROR_RESPONSES(401, 404)},
        summary="The alert rules of one of your shares (all on unless you switched them off)",
        tags=["shares"],
    )
    def get(self, request, pk):
        grant = grant_for_client_or_404(client=request.user, grant_id=pk)
        services.rules_ensure(grants=[grant])
        rules = _ordered(selectors.rules_for_grant(grant=grant))
        return Response(AlertRuleSerializer([_rule_body(r, grant) for r in rules], many=True).data)


class AlertRuleDetailView(APIView):
    @extend_schema(
        parameters=[KIND],
        request=AlertRuleUpdateSerializer,
        responses={200: AlertRuleSerializer, **ERROR_RESPONSES(400, 401, 404)},
        summary="Switch one alert rule of your share on or off",
        tags=["shares"],
    )
    def patch(self, request, pk, kind):
        grant = grant_for_client_or_404(client=request.user, grant_id=pk)
        data = AlertRuleUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = services.rule_set_enabled(grant=grant, kind=kind, enabled=data.validated_data["enabled"])
        return Response(AlertRuleSerializer(_rule_body(rule, grant)).data)


class AlertLinksSerializer(serializers.Serializer):
    dashboard = serializers.CharField(help_text="The client's page on the web dashboard.")
    client = serializers.CharField(help_text="The client's share over the API.")


class AlertSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    rule = serializers.ChoiceField(choices=AlertKind.choices, source="kind")
    rule_label = serializers.CharField()
    client = PersonSerializer()
    share_id = serializers.UUIDField(source="grant_id")
    fired_at = serializers.DateTimeField()
    episode_ended_at = serializers.DateTimeField(
        allow_null=True, help_text="When the condition cleared (null: it still holds)."
    )
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    acknowledged_by = PersonSerializer(allow_null=True)
    links = AlertLinksSerializer()


def _alert_body(alert) -> dict:
    return {
        "id": alert.id,
        "kind": alert.kind,
        "rule_label": AlertKind(alert.kind).label,
        "client": alert.client,
        "grant_id": alert.grant_id,
        "fired_at": alert.fired_at,
        "episode_ended_at": alert.episode_ended_at,
        "acknowledged_at": alert.acknowledged_at,
        "acknowledged_by": alert.acknowledged_by,
        "links": {
            "dashboard": reverse("dashboard:client", kwargs={"client_id": alert.client_id}),
            "client": reverse("client-detail", kwargs={"client_id": alert.client_id}),
        },
    }


def _therapists_only(user) -> None:
    if not can_use_therapist_views(user):
        raise Forbidden("Only verified therapists have alerts.", code="therapists_only")


def _log(alerts) -> None:
    grants = {alert.grant_id: alert.grant for alert in alerts}
    sharing.access_log_write(grants=grants.values(), resource=AccessLogEntry.Resource.ALERTS, channel="api")


class AlertListView(generics.ListAPIView):
    serializer_class = AlertSerializer

    def get_queryset(self):
        return selectors.alerts_for_therapist(therapist=self.request.user)

    @extend_schema(
        summary="Your alerts: rules your clients agreed to that fired, newest first",
        description="Only through live shares whose scopes still cover what the rule read, and only rules the "
        "client keeps on. One alert per episode: a condition that persists does not alert again.",
        tags=["alerts"],
        responses={200: AlertSerializer(many=True), **ERROR_RESPONSES(401, 403)},
    )
    def get(self, request, *args, **kwargs):
        _therapists_only(request.user)
        self.paginator.ordering = ("-fired_at", "-id")
        page = self.paginate_queryset(self.get_queryset())
        _log(page)
        return self.get_paginated_response(AlertSerializer([_alert_body(a) for a in page], many=True).data)


class AlertAcknowledgeView(APIView):
    @extend_schema(
        request=None,
        responses={200: AlertSerializer, **ERROR_RESPONSES(401, 404)},
        summary="Acknowledge an alert (recorded once: who and when; repeating it changes nothing)",
        tags=["alerts"],
    )
    def post(self, request, pk):
        alert = selectors.alert_for_therapist_or_404(therapist=request.user, alert_id=pk)
        alert = services.alert_acknowledge(alert=alert, by=request.user)
        _log([alert])
        return Response(AlertSerializer(_alert_body(alert)).data)
