"""The client's side of sharing: invites, grants, scopes, revocation, access log, preview.

`POST shares/accept` is the therapist's half of the handshake and lives here too."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker.common.api.client import client_ip
from tracker.common.api.fields import StrictCharField
from tracker.common.api.idempotency import IDEMPOTENCY_KEY, idempotent
from tracker.common.api.schema import ERROR_RESPONSES
from tracker.common.errors import Forbidden, NotFound
from tracker.models import AccessLogEntry, ShareGrant, ShareInvite, User
from tracker.sharing import services as sharing
from tracker.sharing.models import ALL_SCOPES, DEFAULT_SCOPES
from tracker.sharing.resources import (
    RESOURCES,
    TRENDS_SCOPE,
    DigestSerializer,
    digest_for_grant,
    shared_resources,
    shared_trend,
)
from tracker.sharing.selectors.grants import (
    access_log_for_grant,
    grant_for_client_or_404,
    grants_for_client,
    pending_invites_for_client,
)
from tracker.sharing.serializers import (
    GrantSerializer,
    PersonSerializer,
    ScopesField,
    SharedTrendsSerializer,
)

PREVIEW_ITEMS = 20


def _future(value):
    if value is not None and value <= timezone.now():
        raise serializers.ValidationError("Must be in the future.")
    return value


class InviteCreateSerializer(serializers.Serializer):
    scopes = ScopesField(default=list(DEFAULT_SCOPES), help_text="Default: everything except notes.")
    grant_expires_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="When the share ends by itself (null: until revoked)."
    )

    def validate_grant_expires_at(self, value):
        return _future(value)


class InviteSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    code = serializers.CharField(help_text="Shown once. Give it to your therapist; it works once, for 72 hours.")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ALL_SCOPES))
    expires_at = serializers.DateTimeField()
    grant_expires_at = serializers.DateTimeField(allow_null=True)


class PendingInviteSerializer(serializers.ModelSerializer):
    """A pending invite as listed later: never the code (only its keyed hash is stored)."""

    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ALL_SCOPES))

    class Meta:
        model = ShareInvite
        fields = ["id", "scopes", "created_at", "expires_at", "grant_expires_at"]
        read_only_fields = fields


class AcceptSerializer(serializers.Serializer):
    code = StrictCharField(max_length=32, help_text="Case and dashes do not matter.")


class TherapistGrantSerializer(serializers.ModelSerializer):
    client = PersonSerializer()
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ALL_SCOPES))

    class Meta:
        model = ShareGrant
        fields = ["id", "client", "scopes", "accepted_at", "expires_at"]
        read_only_fields = fields


class GrantUpdateSerializer(serializers.Serializer):
    scopes = ScopesField(required=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate_expires_at(self, value):
        return _future(value)


class AccessLogEntrySerializer(serializers.ModelSerializer):
    therapist = PersonSerializer()

    class Meta:
        model = AccessLogEntry
        fields = ["id", "therapist", "resource", "channel", "accessed_at"]
        read_only_fields = fields


def _clients_only(user) -> None:
    if user.role != User.Role.CLIENT:
        raise Forbidden("Only clients share their data.", code="clients_only")


class InviteCreateView(generics.ListAPIView):
    """GET lists the client's pending invites; POST creates one."""

    serializer_class = PendingInviteSerializer
    queryset = ShareInvite.objects.none()  # for the schema; get_queryset decides

    def get_queryset(self):
        return pending_invites_for_client(client=self.request.user)

    def paginate_queryset(self, queryset):
        self.paginator.ordering = ("-created_at", "-id")
        return super().paginate_queryset(queryset)

    @extend_schema(
        summary="Your pending share codes (not used, not expired), newest first; the codes themselves are not shown",
        tags=["shares"],
        responses={200: PendingInviteSerializer(many=True), **ERROR_RESPONSES(401)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        request=InviteCreateSerializer,
        responses={201: InviteSerializer, **ERROR_RESPONSES(400, 401, 403, 422)},
        summary="Create a single-use share code for a therapist",
        tags=["shares"],
    )
    @idempotent
    def post(self, request):
        _clients_only(request.user)
        data = InviteCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = sharing.invite_create(client=request.user, **data.validated_data)
        invite = created.invite
        body = {
            "id": invite.id,
            "code": created.code,
            "scopes": invite.scopes,
            "expires_at": invite.expires_at,
            "grant_expires_at": invite.grant_expires_at,
        }
        return Response(InviteSerializer(body).data, status=status.HTTP_201_CREATED)


class InviteDetailView(APIView):
    @extend_schema(
        request=None,
        responses={204: None, **ERROR_RESPONSES(401, 404)},
        summary="Cancel a pending share code: it can no longer be accepted",
        description="404 for someone else's invite and for one already used or expired.",
        tags=["shares"],
    )
    def delete(self, request, pk):
        if not sharing.invite_cancel(client=request.user, invite_id=pk):
            raise NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)


class AcceptView(APIView):
    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        request=AcceptSerializer,
        responses={201: TherapistGrantSerializer, **ERROR_RESPONSES(400, 401, 403, 404, 409, 422, 429)},
        summary="Accept a client's share code (verified therapists)",
        description="Wrong codes count per therapist and per IP address; too many lock both out (429 + Retry-After).",
        tags=["shares"],
    )
    @idempotent
    def post(self, request):
        data = AcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = sharing.invite_accept(therapist=request.user, code=data.validated_data["code"], ip=client_ip(request))
        grant = ShareGrant.objects.select_related("client").get(pk=grant.pk)
        return Response(TherapistGrantSerializer(grant).data, status=status.HTTP_201_CREATED)


class GrantListView(generics.ListAPIView):
    serializer_class = GrantSerializer
    queryset = ShareGrant.objects.none()  # for the schema; get_queryset decides

    def get_queryset(self):
        return grants_for_client(client=self.request.user)

    def paginate_queryset(self, queryset):
        self.paginator.ordering = ("-created_at", "-id")
        return super().paginate_queryset(queryset)

    @extend_schema(summary="Your shares with therapists", tags=["shares"], responses={200: GrantSerializer(many=True)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class GrantDetailView(APIView):
    @extend_schema(responses={200: GrantSerializer, **ERROR_RESPONSES(401, 404)}, summary="One share", tags=["shares"])
    def get(self, request, pk):
        return Response(GrantSerializer(grant_for_client_or_404(client=request.user, grant_id=pk)).data)

    @extend_schema(
        request=GrantUpdateSerializer,
        responses={200: GrantSerializer, **ERROR_RESPONSES(400, 401, 404, 409)},
        summary="Change a share's scopes or end date (applies on the therapist's next request)",
        tags=["shares"],
    )
    def patch(self, request, pk):
        grant = grant_for_client_or_404(client=request.user, grant_id=pk)
        data = GrantUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        kwargs = dict(data.validated_data)
        grant = sharing.grant_update(grant=grant, scopes=kwargs.get("scopes"), expires_at=kwargs.get("expires_at", ...))
        return Response(GrantSerializer(grant).data)

    @extend_schema(
        responses={204: None, **ERROR_RESPONSES(401, 404)},
        summary="Revoke a share (applies on the therapist's next request)",
        tags=["shares"],
    )
    def delete(self, request, pk):
        grant = grant_for_client_or_404(client=request.user, grant_id=pk)
        sharing.grant_revoke(grant=grant, by=ShareGrant.RevokedBy.CLIENT)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AccessLogView(generics.ListAPIView):
    serializer_class = AccessLogEntrySerializer
    queryset = AccessLogEntry.objects.none()  # for the schema; get_queryset decides

    def get_queryset(self):
        return access_log_for_grant(grant=grant_for_client_or_404(client=self.request.user, grant_id=self.kwargs["pk"]))

    def paginate_queryset(self, queryset):
        self.paginator.ordering = ("-accessed_at", "-id")
        return super().paginate_queryset(queryset)

    @extend_schema(
        summary="Every read of your data by this share's therapist",
        tags=["shares"],
        responses={200: AccessLogEntrySerializer(many=True), **ERROR_RESPONSES(401, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


PreviewSerializer = inline_serializer(
    name="SharePreview",
    fields={
        "share": GrantSerializer(),
        **{scope: resource.serializer(many=True, allow_null=True) for scope, resource in RESOURCES.items()},
        "trends": SharedTrendsSerializer(allow_null=True),
        "digest": DigestSerializer(allow_null=True),
    },
)


def preview_for_grant(grant: ShareGrant) -> dict:
    """Exactly what the therapist would get from each endpoint right now (null: no access)."""
    body: dict = {
        "share": GrantSerializer(grant).data,
        **dict.fromkeys(RESOURCES),
        "trends": None,
        "digest": None,
    }
    if grant.effective_status() != ShareGrant.Status.ACTIVE or not grant.therapist.is_verified_therapist:
        return body
    context = {"grant": grant}
    shared = shared_resources(grant)
    for resource in shared:
        recent = resource.rows(grant=grant).order_by(*resource.ordering)[:PREVIEW_ITEMS]
        body[resource.scope] = resource.serializer(recent, many=True, context=context).data
    if grant.allows(TRENDS_SCOPE):
        body["trends"] = shared_trend(grant=grant)
    if shared:
        body["digest"] = DigestSerializer(digest_for_grant(grant=grant)).data
    return body


class PreviewView(APIView):
    @extend_schema(
        responses={200: PreviewSerializer, **ERROR_RESPONSES(401, 404)},
        summary="See exactly what this share's therapist can see",
        description="The latest items of each shared kind, the trends and the digest, cut to the share's scopes. "
        "Reading your own preview is not logged.",
        tags=["shares"],
    )
    def get(self, request, pk):
        grant = grant_for_client_or_404(client=request.user, grant_id=pk)
        return Response(preview_for_grant(grant))
