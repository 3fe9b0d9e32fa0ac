"""Auth and profile endpoints: register, login, logout, logout-all, me."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from tracker.accounts import services as accounts
from tracker.accounts.serializers import (
    NewPasswordField,
    TimezoneField,
    UserSerializer,
)
from tracker.common.api.fields import StrictCharField
from tracker.common.api.idempotency import IDEMPOTENCY_KEY, idempotent
from tracker.common.api.schema import ERROR_RESPONSES, delete_with_body
from tracker.data_rights.services import user_erase
from tracker.models import User


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = NewPasswordField()
    display_name = StrictCharField(max_length=80, required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=User.Role.choices, default=User.Role.CLIENT)
    timezone = TimezoneField(required=False, default="UTC")
    locale = StrictCharField(max_length=16, required=False, default="en")
    device_name = StrictCharField(max_length=80, required=False, allow_blank=True, default="")


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = StrictCharField(max_length=128, write_only=True, trim_whitespace=False)
    device_name = StrictCharField(max_length=80, required=False, allow_blank=True, default="")


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>` (or `Bearer`).")
    expires_at = serializers.DateTimeField(allow_null=True)
    user = UserSerializer()


class MeUpdateSerializer(serializers.Serializer):
    display_name = StrictCharField(max_length=80, required=False, allow_blank=True)
    timezone = TimezoneField(required=False)
    locale = StrictCharField(max_length=16, required=False)
    country = serializers.RegexField(
        r"^([A-Za-z]{2})?$",
        required=False,
        allow_blank=True,
        help_text="ISO 3166-1 alpha-2 country (e.g. US) for crisis resources; blank: the locale's region.",
    )

    def validate_country(self, value: str) -> str:
        return value.upper()


class MeDeleteSerializer(serializers.Serializer):
    password = StrictCharField(
        max_length=128, write_only=True, trim_whitespace=False, help_text="The current password of the account."
    )


def _token_response(issued: accounts.IssuedToken, status_code: int) -> Response:
    body = {"token": issued.token, "expires_at": issued.expires_at, "user": issued.user}
    return Response(TokenResponseSerializer(body).data, status=status_code)


class AuthThrottled(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


class RegisterView(AuthThrottled):
    @extend_schema(
        request=RegisterSerializer,
        responses={201: TokenResponseSerializer, **ERROR_RESPONSES(400, 409, 413, 429)},
        summary="Create an account and a token for this device",
        auth=[],
    )
    def post(self, request):
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = accounts.user_register(**data.validated_data)
        return _token_response(issued, status.HTTP_201_CREATED)


class LoginView(AuthThrottled):
    @extend_schema(
        request=LoginSerializer,
        responses={200: TokenResponseSerializer, **ERROR_RESPONSES(400, 401, 413, 429)},
        summary="Log in and get a token for this device",
        description="Five failed attempts for one email lock it for 15 minutes (429 with Retry-After).",
        auth=[],
    )
    def post(self, request):
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = accounts.user_login(**data.validated_data)  # LoginLocked → 429, InvalidCredentials → 401
        return _token_response(issued, status.HTTP_200_OK)


class LogoutView(APIView):
    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        request=None,
        responses={204: None, **ERROR_RESPONSES(400, 401, 422)},
        summary="Revoke this device's token",
    )
    @idempotent
    def post(self, request):
        accounts.token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        request=None,
        responses={204: None, **ERROR_RESPONSES(400, 401, 422)},
        summary="Revoke every token of this user",
    )
    @idempotent
    def post(self, request):
        accounts.tokens_revoke_all(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses={200: UserSerializer, **ERROR_RESPONSES(401)}, summary="The current user")
    def get(self, request):
        return Response(UserSerializer(request.user).data)

    @extend_schema(
        request=MeUpdateSerializer,
        responses={200: UserSerializer, **ERROR_RESPONSES(400, 401, 413)},
        summary="Change display name, timezone, locale or country",
    )
    def patch(self, request):
        data = MeUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = accounts.user_update(user=request.user, **data.validated_data)
        return Response(UserSerializer(user).data)

    @extend_schema(
        request=MeDeleteSerializer,
        responses={204: None, **ERROR_RESPONSES(400, 401, 413, 429)},
        summary="Erase this account and all its data",
        description=(
            "Needs the current password (a token alone cannot erase an account). Deletes the profile, "
            "every check-in, log, summary, reminder, device, inbox item and share (on both sides) and "
            "revokes every token. Wrong passwords count toward the login lockout (429 with Retry-After)."
        ),
    )
    @delete_with_body
    def delete(self, request):
        data = MeDeleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user_erase(user=request.user, password=data.validated_data["password"])  # LoginLocked → 429
        return Response(status=status.HTTP_204_NO_CONTENT)
