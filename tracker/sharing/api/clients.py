"""The therapist's API: the clients who share with them, and each client's data within scope.

Every per-client view resolves the grant first (`grant_for_therapist`, checked against the database
on every request) and answers 404 for every kind of "no", then writes an access-log row."""

from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker.common.api.errors import ApiError
from tracker.common.api.idempotency import IDEMPOTENCY_KEY, idempotent
from tracker.common.api.schema import ERROR_RESPONSES
from tracker.models import AccessLogEntry, CheckIn, RegulationLog, Scope, ShareGrant, WeeklySummary
from tracker.sharing import services as sharing
from tracker.sharing.api.serializers import (
    DigestSerializer,
    PersonSerializer,
    SharedCheckInSerializer,
    SharedRegulationLogSerializer,
    SharedSummarySerializer,
    SharedTrendsSerializer,
)
from tracker.sharing.models import ALL_SCOPES
from tracker.sharing.selectors import shared_data
from tracker.sharing.selectors.grants import can_use_therapist_views, grant_for_therapist, shared_grants_for_therapist

Resource = AccessLogEntry.Resource
CLIENT_ID = OpenApiParameter("client_id", type=str, location=OpenApiParameter.PATH, description="The client's id.")


def status_line(grant: ShareGrant, direction: str | None) -> dict:
    """The client list's one line per client; each figure only where the scope covers it."""
    checkins = grant.allows(Scope.CHECKINS)
    regulation = grant.allows(Scope.REGULATION_LOGS)
    return {
        "last_checkin_at": grant.last_checkin_at if checkins else None,
        "direction": direction if checkins else None,
        "safety_flags_since_last_session": grant.safety_flags_since if regulation else None,
        "last_session_at": grant.last_session_at,
    }


class StatusLineSerializer(serializers.Serializer):
    last_checkin_at = serializers.DateTimeField(allow_null=True)
    direction = serializers.ChoiceField(
        choices=["improving", "stable", "worsening", "insufficient_data"], allow_null=True
    )
    safety_flags_since_last_session = serializers.IntegerField(allow_null=True)
    last_session_at = serializers.DateTimeField(allow_null=True)


class SharedClientSerializer(serializers.Serializer):
    client = PersonSerializer()
    share_id = serializers.UUIDField()
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ALL_SCOPES))
    accepted_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    status = StatusLineSerializer()


def shared_client_body(grant: ShareGrant, direction: str | None) -> dict:
    return {
        "client": grant.client,
        "share_id": grant.id,
        "scopes": grant.scopes,
        "accepted_at": grant.accepted_at,
        "expires_at": grant.expires_at,
        "status": status_line(grant, direction),
    }


def _therapists_only(user) -> None:
    if not can_use_therapist_views(user):
        raise ApiError(403, "therapists_only", "Only verified therapists see shared clients.")


class ClientListView(generics.ListAPIView):
    serializer_class = SharedClientSerializer

    def get_queryset(self):
        return shared_grants_for_therapist(therapist=self.request.user)

    @extend_schema(
        summary="Clients who currently share with you, with a one-line status each",
        tags=["clients"],
        responses={200: SharedClientSerializer(many=True), **ERROR_RESPONSES(401, 403)},
    )
    def get(self, request, *args, **kwargs):
        _therapists_only(request.user)
        self.paginator.ordering = ("-accepted_at", "-id")
        page = self.paginate_queryset(self.get_queryset())
        directions = shared_data.directions_for_clients(grants=page)
        sharing.access_log_write(grants=page, resource=Resource.CLIENT_LIST, channel=AccessLogEntry.Channel.API)
        data = SharedClientSerializer([shared_client_body(g, directions.get(g.client_id)) for g in page], many=True)
        return self.get_paginated_response(data.data)


class ClientDetailView(APIView):
    @extend_schema(
        parameters=[CLIENT_ID],
        responses={200: SharedClientSerializer, **ERROR_RESPONSES(401, 404)},
        summary="One client's share and status line",
        tags=["clients"],
    )
    def get(self, request, client_id):
        grant = grant_for_therapist(therapist=request.user, client_id=client_id)
        grant = shared_grants_for_therapist(therapist=request.user).get(pk=grant.pk)
        direction = shared_data.directions_for_clients(grants=[grant]).get(grant.client_id)
        sharing.access_log_write(grants=[grant], resource=Resource.CLIENT_LIST, channel=AccessLogEntry.Channel.API)
        return Response(SharedClientSerializer(shared_client_body(grant, direction)).data)

    @extend_schema(
        parameters=[CLIENT_ID],
        request=None,
        responses={204: None, **ERROR_RESPONSES(401, 404)},
        summary="End this client's share yourself (the client sees it as revoked by the therapist)",
        description="Every later read of this client is a 404 until they share again. 404 when no live share.",
        tags=["clients"],
    )
    def delete(self, request, client_id):
        grant = grant_for_therapist(therapist=request.user, client_id=client_id)
        sharing.grant_revoke(grant=grant, by=ShareGrant.RevokedBy.THERAPIST)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OccurredFilter(filters.FilterSet):
    since = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")


class ScopedListView(generics.ListAPIView):
    """A paginated list of one client's rows, readable only through a grant with `scope`."""

    scope: str
    resource: str
    ordering = ("-occurred_at", "-id")
    filterset_class = OccurredFilter

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.grant = grant_for_therapist(therapist=request.user, client_id=kwargs["client_id"], any_of=[self.scope])

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "grant": getattr(self, "grant", None)}

    def list(self, request, *args, **kwargs):
        self.paginator.ordering = self.ordering
        response = super().list(request, *args, **kwargs)
        sharing.access_log_write(grants=[self.grant], resource=self.resource, channel=AccessLogEntry.Channel.API)
        return response


class ClientCheckInsView(ScopedListView):
    serializer_class = SharedCheckInSerializer
    queryset = CheckIn.objects.none()  # for the schema; get_queryset decides
    scope = Scope.CHECKINS
    resource = Resource.CHECKINS

    def get_queryset(self):
        return shared_data.shared_checkins(grant=self.grant)

    @extend_schema(
        parameters=[CLIENT_ID],
        summary="A client's check-ins (scope: checkins; notes only with scope notes)",
        tags=["clients"],
        responses={200: SharedCheckInSerializer(many=True), **ERROR_RESPONSES(401, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ClientRegulationLogsView(ScopedListView):
    serializer_class = SharedRegulationLogSerializer
    queryset = RegulationLog.objects.none()
    scope = Scope.REGULATION_LOGS
    resource = Resource.REGULATION_LOGS

    def get_queryset(self):
        return shared_data.shared_regulation_logs(grant=self.grant)

    @extend_schema(
        parameters=[CLIENT_ID],
        summary="A client's regulation logs (scope: regulation_logs; notes only with scope notes)",
        tags=["clients"],
        responses={200: SharedRegulationLogSerializer(many=True), **ERROR_RESPONSES(401, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ClientSummariesView(ScopedListView):
    serializer_class = SharedSummarySerializer
    queryset = WeeklySummary.objects.none()
    scope = Scope.SUMMARIES
    resource = Resource.SUMMARIES
    ordering = ("-week_start", "-id")
    filterset_class = None

    def get_queryset(self):
        return shared_data.shared_summaries(grant=self.grant)

    @extend_schema(
        parameters=[CLIENT_ID],
        summary="A client's weekly summaries (scope: summaries)",
        tags=["clients"],
        responses={200: SharedSummarySerializer(many=True), **ERROR_RESPONSES(401, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ClientTrendsView(APIView):
    @extend_schema(
        parameters=[CLIENT_ID],
        responses={200: SharedTrendsSerializer, **ERROR_RESPONSES(401, 404)},
        summary="A client's trends (scope: checkins; the regulation part needs regulation_logs)",
        tags=["clients"],
    )
    def get(self, request, client_id):
        grant = grant_for_therapist(therapist=request.user, client_id=client_id, any_of=[Scope.CHECKINS])
        body = shared_data.shared_trends(grant=grant)
        sharing.access_log_write(grants=[grant], resource=Resource.TRENDS, channel=AccessLogEntry.Channel.API)
        return Response(SharedTrendsSerializer(body).data)  # the client's own GET trends/ shape


DIGEST_SCOPES = (Scope.CHECKINS, Scope.REGULATION_LOGS, Scope.SUMMARIES)


class ClientDigestView(APIView):
    @extend_schema(
        parameters=[CLIENT_ID],
        responses={200: DigestSerializer, **ERROR_RESPONSES(401, 404)},
        summary="What changed since your last marked session with this client",
        tags=["clients"],
    )
    def get(self, request, client_id):
        grant = grant_for_therapist(therapist=request.user, client_id=client_id, any_of=DIGEST_SCOPES)
        body = shared_data.digest_for_grant(grant=grant)
        sharing.access_log_write(grants=[grant], resource=Resource.DIGEST, channel=AccessLogEntry.Channel.API)
        return Response(DigestSerializer(body).data)


class SessionCreateSerializer(serializers.Serializer):
    occurred_at = serializers.DateTimeField(required=False, help_text="Default: now. Not in the future.")

    def validate_occurred_at(self, value):
        if value > timezone.now():
            raise serializers.ValidationError("A session cannot be in the future.")
        return value


class SessionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    occurred_at = serializers.DateTimeField()


class ClientSessionsView(APIView):
    @extend_schema(
        parameters=[CLIENT_ID, IDEMPOTENCY_KEY],
        request=SessionCreateSerializer,
        responses={201: SessionSerializer, **ERROR_RESPONSES(400, 401, 404, 422)},
        summary="Mark a session with this client (the digest then starts from it)",
        tags=["clients"],
    )
    @idempotent
    def post(self, request, client_id):
        grant = grant_for_therapist(therapist=request.user, client_id=client_id)
        data = SessionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        session = sharing.session_mark(grant=grant, occurred_at=data.validated_data.get("occurred_at"))
        return Response(SessionSerializer(session).data, status=status.HTTP_201_CREATED)
