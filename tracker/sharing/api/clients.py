"""The therapist's API: the clients who share with them, and each client's data within scope.

Every per-client view resolves the grant first (`shared_resource_or_404` / `grant_for_therapist`,
checked against the database on every request) and answers 404 for every kind of "no", then writes
an access-log row. The per-resource list routes come from the registry in tracker.sharing.resources."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker.common.api.idempotency import IDEMPOTENCY_KEY, idempotent
from tracker.common.api.schema import ERROR_RESPONSES
from tracker.common.errors import Forbidden
from tracker.models import AccessLogEntry, ShareGrant
from tracker.sharing import services as sharing
from tracker.sharing.models import ALL_SCOPES
from tracker.sharing.resources import (
    RESOURCES,
    TRENDS_SCOPE,
    DigestSerializer,
    SharedResource,
    digest_for_grant,
    shared_resource_or_404,
    shared_trend,
    status_line,
)
from tracker.sharing.selectors import shared_data
from tracker.sharing.selectors.grants import can_use_therapist_views, grant_for_therapist, shared_grants_for_therapist
from tracker.sharing.serializers import PersonSerializer, RedactedNoteMixin, SharedTrendsSerializer

Resource = AccessLogEntry.Resource
CLIENT_ID = OpenApiParameter("client_id", type=str, location=OpenApiParameter.PATH, description="The client's id.")


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
        raise Forbidden("Only verified therapists see shared clients.", code="therapists_only")


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


class ScopedListView(generics.ListAPIView):
    """A paginated list of one client's rows, readable only through a grant with `scope`."""

    # One subclass per registry entry (`for_resource`); tracker/urls.py routes each under its name.

    resource: SharedResource

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.grant = shared_resource_or_404(
            therapist=request.user, client_id=kwargs["client_id"], scope=self.resource.scope
        )

    def get_queryset(self):
        return self.resource.rows(grant=self.grant)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "grant": getattr(self, "grant", None)}

    def list(self, request, *args, **kwargs):
        self.paginator.ordering = self.resource.ordering
        response = super().list(request, *args, **kwargs)
        sharing.access_log_write(grants=[self.grant], resource=self.resource.log_as, channel=AccessLogEntry.Channel.API)
        return response

    @classmethod
    def for_resource(cls, resource: SharedResource) -> type[ScopedListView]:
        notes = "; notes only with scope notes" if issubclass(resource.serializer, RedactedNoteMixin) else ""
        schema = extend_schema(
            parameters=[CLIENT_ID],
            summary=f"A client's {resource.label.lower()} (scope: {resource.scope}{notes})",
            tags=["clients"],
            responses={200: resource.serializer(many=True), **ERROR_RESPONSES(401, 404)},
        )
        name = "Client" + "".join(part.title() for part in resource.route.split("-")) + "View"
        attrs = {
            "resource": resource,
            "serializer_class": resource.serializer,
            "queryset": resource.serializer.Meta.model.objects.none(),  # for the schema; get_queryset decides
            "filterset_class": resource.filterset_class,
            "__module__": __name__,
            "__qualname__": name,
        }
        return extend_schema_view(get=schema)(type(name, (cls,), attrs))


# One list view per shared resource, in registry order.
RESOURCE_VIEWS: dict[str, type[ScopedListView]] = {
    scope: ScopedListView.for_resource(resource) for scope, resource in RESOURCES.items()
}


class ClientTrendsView(APIView):
    @extend_schema(
        parameters=[CLIENT_ID],
        responses={200: SharedTrendsSerializer, **ERROR_RESPONSES(401, 404)},
        summary="A client's trends (scope: checkins; the regulation part needs regulation_logs)",
        tags=["clients"],
    )
    def get(self, request, client_id):
        grant = shared_resource_or_404(therapist=request.user, client_id=client_id, scope=TRENDS_SCOPE)
        body = shared_trend(grant=grant)
        sharing.access_log_write(grants=[grant], resource=Resource.TRENDS, channel=AccessLogEntry.Channel.API)
        return Response(SharedTrendsSerializer(body).data)  # the client's own GET trends/ shape


class ClientDigestView(APIView):
    @extend_schema(
        parameters=[CLIENT_ID],
        responses={200: DigestSerializer, **ERROR_RESPONSES(401, 404)},
        summary="What changed since your last marked session with this client",
        tags=["clients"],
    )
    def get(self, request, client_id):
        grant = shared_resource_or_404(therapist=request.user, client_id=client_id, scope=None)
        body = digest_for_grant(grant=grant)
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
