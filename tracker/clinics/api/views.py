"""The clinic admin's API: their clinics, members (licences, suspension) and invitations.

Thin views over tracker.clinics.services/selectors. Every clinic route resolves the clinic through
`clinic_for_admin` first: a clinic you do not administer is a 404, like one that does not exist.
Nothing here reads a client's data; a clinic only ever sees its own people."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from tracker.clinics import selectors, services
from tracker.common.api.schema import ERROR_RESPONSES
from tracker.common.errors import NotFound
from tracker.models import Clinic, ClinicInvitation, ClinicMembership

CLINIC_ID = OpenApiParameter("clinic_id", type=str, location=OpenApiParameter.PATH, description="The clinic's id.")
MEMBER_ID = OpenApiParameter("member_id", type=str, location=OpenApiParameter.PATH, description="The membership's id.")
INVITATION_ID = OpenApiParameter("invitation_id", type=str, location=OpenApiParameter.PATH, description="The id.")


class ClinicOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Clinic
        fields = ["id", "name", "created_at"]
        read_only_fields = fields


class MemberOutputSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    display_name = serializers.CharField(source="user.display_name", read_only=True)
    licence_expired = serializers.SerializerMethodField()
    verified = serializers.SerializerMethodField(help_text="Verified licence, unexpired, not suspended (derived).")

    class Meta:
        model = ClinicMembership
        fields = [
            "id",
            "email",
            "display_name",
            "role",
            "licence_number",
            "licence_jurisdiction",
            "licence_expires_on",
            "licence_verified_at",
            "licence_expired",
            "suspended_at",
            "verified",
            "created_at",
        ]
        read_only_fields = fields

    def get_licence_expired(self, membership) -> bool:
        return membership.licence_expires_on is not None and not membership.licence_current(self.context["now"])

    def get_verified(self, membership) -> bool:
        return membership.verified(self.context["now"])


class InvitationOutputSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()

    class Meta:
        model = ClinicInvitation
        fields = ["id", "email", "created_at", "expires_at", "used_at", "status"]
        read_only_fields = fields

    def get_status(self, invitation) -> str:
        if invitation.used_at is not None:
            return "used"
        return "expired" if invitation.expires_at <= self.context["now"] else "pending"


def _context() -> dict:
    return {"now": timezone.now()}


class ClinicListView(generics.ListAPIView):
    serializer_class = ClinicOutputSerializer
    queryset = Clinic.objects.none()  # for the schema; get_queryset decides

    def get_queryset(self):
        return selectors.clinics_for_admin(user=self.request.user)

    def paginate_queryset(self, queryset):
        self.paginator.ordering = ("-created_at", "-id")
        return super().paginate_queryset(queryset)

    @extend_schema(summary="Clinics you administer", tags=["clinics"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ClinicDetailView(APIView):
    @extend_schema(
        parameters=[CLINIC_ID], responses={200: ClinicOutputSerializer, **ERROR_RESPONSES(401, 404)}, tags=["clinics"]
    )
    def get(self, request, clinic_id):
        clinic = selectors.clinic_for_admin(user=request.user, clinic_id=clinic_id)
        return Response(ClinicOutputSerializer(clinic).data)


class MemberListView(generics.ListAPIView):
    serializer_class = MemberOutputSerializer
    queryset = ClinicMembership.objects.none()

    def get_queryset(self):
        clinic = selectors.clinic_for_admin(user=self.request.user, clinic_id=self.kwargs["clinic_id"])
        return selectors.members(clinic=clinic)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), **_context()}

    def paginate_queryset(self, queryset):
        self.paginator.ordering = ("-created_at", "-id")
        return super().paginate_queryset(queryset)

    @extend_schema(parameters=[CLINIC_ID], summary="The clinic's admins and therapists", tags=["clinics"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def _member_response(membership: ClinicMembership) -> Response:
    return Response(MemberOutputSerializer(membership, context=_context()).data)


class MemberDetailView(APIView):
    @extend_schema(
        parameters=[CLINIC_ID, MEMBER_ID],
        responses={200: MemberOutputSerializer, **ERROR_RESPONSES(401, 404)},
        tags=["clinics"],
    )
    def get(self, request, clinic_id, member_id):
        clinic = selectors.clinic_for_admin(user=request.user, clinic_id=clinic_id)
        return _member_response(selectors.member(clinic=clinic, member_id=member_id))


class LicenceSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=64)
    jurisdiction = serializers.CharField(max_length=64, help_text="Who issued it, e.g. `DE-BE` or `California BBS`.")
    expires_on = serializers.DateField(help_text="Valid through this date (UTC); unverified from the next day.")


class LicenceView(APIView):
    @extend_schema(
        parameters=[CLINIC_ID, MEMBER_ID],
        request=LicenceSerializer,
        responses={200: MemberOutputSerializer, **ERROR_RESPONSES(400, 401, 404, 409, 413)},
        summary="Record a therapist's licence (changed details clear the verification)",
        tags=["clinics"],
    )
    def put(self, request, clinic_id, member_id):
        clinic = selectors.clinic_for_admin(user=request.user, clinic_id=clinic_id)
        membership = selectors.member(clinic=clinic, member_id=member_id)
        data = LicenceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.licence_record(membership=membership, **data.validated_data)
        return _member_response(membership)


class LicenceVerifyView(APIView):
    @extend_schema(
        parameters=[CLINIC_ID, MEMBER_ID],
        request=None,
        responses={200: MemberOutputSerializer, **ERROR_RESPONSES(401, 403, 404, 409)},
        summary="Confirm you checked the licence (409 licence_expired / licence_missing)",
        tags=["clinics"],
    )
    def post(self, request, clinic_id, member_id):
        clinic = selectors.clinic_for_admin(user=request.user, clinic_id=clinic_id)
        membership = selectors.member(clinic=clinic, member_id=member_id)
        return _member_response(services.licence_verify(membership=membership, by=request.user))


class SuspendView(APIView):
    @extend_schema(
        parameters=[CLINIC_ID, MEMBER_ID],
        request=None,
        responses={200: MemberOutputSerializer, **ERROR_RESPONSES(401, 404, 409)},
        summary="Suspend a therapist: no client data from their very next request; API tokens revoked",
        tags=["clinics"],
    )
    def post(self, request, clinic_id, member_id):
        clinic = selectors.clinic_for_admin(user=request.user, clinic_id=clinic_id)
        membership = selectors.member(clinic=clinic, member_id=member_id)
        return _member_response(services.member_suspend(membership=membership, by=request.user))


class ReinstateView(APIView):
    @extend_schema(
        parameters=[CLINIC_ID, MEMBER_ID],
        request=None,
        responses={200: MemberOutputSerializer, **ERROR_RESPONSES(401, 404, 409)},
        summary="Lift a suspension",
        tags=["clinics"],
    )
    def post(self, request, clinic_id, member_id):
        clinic = selectors.clinic_for_admin(user=request.user, clinic_id=clinic_id)
        membership = selectors.member(clinic=clinic, member_id=member_id)
        return _member_response(services.member_reinstate(membership=membership))


class InvitationCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class InvitationListView(generics.ListAPIView):
    serializer_class = InvitationOutputSerializer
    queryset = ClinicInvitation.objects.none()

    def get_queryset(self):
        clinic = selectors.clinic_for_admin(user=self.request.user, clinic_id=self.kwargs["clinic_id"])
        return selectors.invitations(clinic=clinic)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), **_context()}

    def paginate_queryset(self, queryset):
        self.paginator.ordering = ("-created_at", "-id")
        return super().paginate_queryset(queryset)

    @extend_schema(parameters=[CLINIC_ID], summary="Invitations sent by the clinic", tags=["clinics"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        parameters=[CLINIC_ID],
        request=InvitationCreateSerializer,
        responses={201: InvitationOutputSerializer, **ERROR_RESPONSES(400, 401, 404, 409, 413)},
        summary="Email a therapist a single-use, expiring link to join the clinic",
        tags=["clinics"],
    )
    def post(self, request, clinic_id):
        clinic = selectors.clinic_for_admin(user=request.user, clinic_id=clinic_id)
        data = InvitationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = services.invitation_create(clinic=clinic, by=request.user, email=data.validated_data["email"])
        return Response(InvitationOutputSerializer(invitation, context=_context()).data, status=status.HTTP_201_CREATED)


class InvitationDetailView(APIView):
    @extend_schema(
        parameters=[CLINIC_ID, INVITATION_ID],
        responses={204: None, **ERROR_RESPONSES(401, 404, 409)},
        summary="Cancel an unused invitation (its link stops working)",
        tags=["clinics"],
    )
    def delete(self, request, clinic_id, invitation_id):
        clinic = selectors.clinic_for_admin(user=request.user, clinic_id=clinic_id)
        invitation = selectors.invitations(clinic=clinic).filter(pk=invitation_id).first()
        if invitation is None:
            raise NotFound()
        services.invitation_cancel(invitation=invitation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationAcceptSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=100, help_text="The token at the end of the emailed link.")
    password = serializers.CharField(
        max_length=128, trim_whitespace=False, help_text="Your password, or the new account's password."
    )
    display_name = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")


class JoinedSerializer(serializers.Serializer):
    clinic = ClinicOutputSerializer()
    member_id = serializers.UUIDField(source="id")
    role = serializers.CharField()


class InvitationAcceptView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(
        request=InvitationAcceptSerializer,
        responses={201: JoinedSerializer, **ERROR_RESPONSES(400, 401, 403, 404, 409, 413, 429)},
        summary="Join a clinic with an invitation link (existing therapist account, or a new one)",
        description=(
            "The invited email's existing therapist account confirms with its password (login lockout applies); "
            "without an account, one is created with this password. The link works once (404 afterwards)."
        ),
        tags=["clinics"],
        auth=[],
    )
    def post(self, request):
        data = InvitationAcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.invitation_accept(**data.validated_data)
        return Response(JoinedSerializer(membership).data, status=status.HTTP_201_CREATED)


class OutcomeCountSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    share = serializers.FloatField(help_text="count / clients, 0..1 (4 decimals).")


# `from` is a Python keyword, so the two serializers that carry it are built from a namespace.
OutcomesInputSerializer = type(
    "OutcomesInputSerializer",
    (serializers.Serializer,),
    {
        "from": serializers.DateField(required=False, help_text="First day (UTC date); default 12 weeks before `to`."),
        "to": serializers.DateField(required=False, help_text="Last day (UTC date); default today."),
    },
)

OutcomesOutputSerializer = type(
    "OutcomesOutputSerializer",
    (serializers.Serializer,),
    {
        "from": serializers.DateField(),
        "to": serializers.DateField(),
        "minimum_clients": serializers.IntegerField(help_text="Nothing is shown for fewer assessed clients."),
        "shown": serializers.BooleanField(),
        "message": serializers.CharField(allow_null=True, help_text='"too few clients to show" when not shown.'),
        "clients": serializers.IntegerField(allow_null=True, help_text="Consenting clients whose change was assessed."),
        "not_assessed": serializers.IntegerField(
            allow_null=True, help_text="Consenting clients without two baseline and two later weeks with check-ins."
        ),
        "improved": OutcomeCountSerializer(allow_null=True),
        "worsened": OutcomeCountSerializer(allow_null=True),
        "no_reliable_change": OutcomeCountSerializer(allow_null=True),
    },
)


class OutcomesView(APIView):
    @extend_schema(
        parameters=[
            CLINIC_ID,
            OpenApiParameter("from", type=OpenApiTypes.DATE, description="First day (UTC); default 12 weeks back."),
            OpenApiParameter("to", type=OpenApiTypes.DATE, description="Last day (UTC); default today."),
        ],
        responses={200: OutcomesOutputSerializer, **ERROR_RESPONSES(400, 401, 404)},
        summary="Share of consenting clients who reliably improved, worsened or did not change (≥ 5 clients)",
        tags=["clinics"],
    )
    def get(self, request, clinic_id):
        clinic = selectors.clinic_for_admin(user=request.user, clinic_id=clinic_id)
        params = OutcomesInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        start, end = selectors.outcome_period(
            start=params.validated_data.get("from"), end=params.validated_data.get("to"), today=timezone.now().date()
        )
        body = selectors.clinic_outcomes(clinic=clinic, start=start, end=end)
        return Response(OutcomesOutputSerializer(body).data)
