"""Auth and profile endpoints: register, login, logout, logout-all, me."""

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from tracker.accounts import second_factor
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
    # Clinic admins are appointed by staff (`clinic_create`), never self-registered.
    role = serializers.ChoiceField(
        choices=[User.Role.CLIENT.value, User.Role.THERAPIST.value], default=User.Role.CLIENT
    )
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


class MfaChallengeSerializer(serializers.Serializer):
    mfa_required = serializers.BooleanField(help_text="Always true: send a code to auth/login/mfa/.")
    mfa_token = serializers.CharField(help_text="Opaque; send back with the code. Short-lived, not a login token.")
    expires_at = serializers.DateTimeField()


LoginResponseSerializer = PolymorphicProxySerializer(
    component_name="LoginResponse",
    serializers=[TokenResponseSerializer, MfaChallengeSerializer],
    resource_type_field_name=None,
)


class MfaLoginSerializer(serializers.Serializer):
    mfa_token = serializers.CharField(max_length=1000)
    code = serializers.CharField(
        max_length=32, help_text="The 6-digit code from the authenticator app, or one unused recovery code."
    )


class MfaCodeSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=32, help_text="The 6-digit code the authenticator app shows now.")


class MfaStatusSerializer(serializers.Serializer):
    required = serializers.BooleanField(help_text="This account must use a second factor (therapists, clinic admins).")
    enrolled = serializers.BooleanField()
    recovery_codes_left = serializers.IntegerField()


class TotpEnrolmentSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="Base32 key, to type into the app when the QR code cannot be scanned.")
    otpauth_url = serializers.CharField(help_text="The `otpauth://` URI the QR code encodes.")
    qr_svg = serializers.CharField(help_text="An inline SVG QR code of `otpauth_url`.")


class RecoveryCodesSerializer(serializers.Serializer):
    recovery_codes = serializers.ListField(
        child=serializers.CharField(), help_text="Ten single-use codes, shown only now. Each signs in once."
    )


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
        responses={200: LoginResponseSerializer, **ERROR_RESPONSES(400, 401, 413, 429)},
        summary="Log in and get a token for this device (or, with a second factor, a challenge)",
        description=(
            "Five failed attempts for one email lock it for 15 minutes (429 with Retry-After). A therapist or "
            "clinic admin with a second factor gets `{mfa_required: true, mfa_token, expires_at}` instead of a "
            "token: send the token and a code to auth/login/mfa/ within five minutes."
        ),
        auth=[],
    )
    def post(self, request):
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = second_factor.user_login(**data.validated_data)  # LoginLocked → 429, InvalidCredentials → 401
        if isinstance(result, second_factor.MfaChallenge):
            body = {"mfa_required": True, "mfa_token": result.mfa_token, "expires_at": result.expires_at}
            return Response(MfaChallengeSerializer(body).data)
        return _token_response(result, status.HTTP_200_OK)


class MfaLoginView(AuthThrottled):
    @extend_schema(
        request=MfaLoginSerializer,
        responses={200: TokenResponseSerializer, **ERROR_RESPONSES(400, 401, 413, 429)},
        summary="Second step of a login: a code for the challenge gives the device token",
        description=(
            "401 `invalid_code` for a wrong or reused code, 401 `invalid_mfa_token` for an expired challenge. "
            "Five wrong codes lock the account's second step for 15 minutes (429 with Retry-After), like "
            "the password step. A recovery code works once."
        ),
        auth=[],
    )
    def post(self, request):
        data = MfaLoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = second_factor.login_complete(**data.validated_data)
        return _token_response(issued, status.HTTP_200_OK)


class MfaStatusView(APIView):
    second_factor_exempt = True

    @extend_schema(
        responses={200: MfaStatusSerializer, **ERROR_RESPONSES(401)},
        summary="Whether this account needs, and has, a second factor",
        tags=["auth"],
    )
    def get(self, request):
        user = request.user
        body = {
            "required": user.needs_second_factor,
            "enrolled": second_factor.has_second_factor(user),
            "recovery_codes_left": second_factor.recovery_codes_left(user),
        }
        return Response(MfaStatusSerializer(body).data)


class TotpEnrolView(APIView):
    second_factor_exempt = True

    @extend_schema(
        request=None,
        responses={201: TotpEnrolmentSerializer, **ERROR_RESPONSES(401, 403, 409)},
        summary="Start enrolling an authenticator app (TOTP): a secret and its QR code",
        description=(
            "Replaces an earlier unconfirmed enrolment. 409 `already_enrolled` once confirmed; 403 "
            "`mfa_not_available` for client accounts (their login has no second step)."
        ),
        tags=["auth"],
    )
    def post(self, request):
        enrolment = second_factor.totp_enrolment_start(user=request.user)
        return Response(TotpEnrolmentSerializer(enrolment).data, status=status.HTTP_201_CREATED)


class TotpConfirmView(APIView):
    second_factor_exempt = True
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(
        request=MfaCodeSerializer,
        responses={200: RecoveryCodesSerializer, **ERROR_RESPONSES(400, 401, 403, 409, 413, 429)},
        summary="Confirm the authenticator app with a code; get ten recovery codes",
        description=(
            "Every other token of this account is revoked (they were issued on a password alone); this one "
            "stays. Wrong codes count toward the second step's lockout."
        ),
        tags=["auth"],
    )
    def post(self, request):
        data = MfaCodeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _, codes = second_factor.totp_enrolment_confirm(
            user=request.user, code=data.validated_data["code"], keep_token=request.auth
        )
        return Response(RecoveryCodesSerializer({"recovery_codes": codes}).data)


class LogoutView(APIView):
    second_factor_exempt = True

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
    second_factor_exempt = True

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
    second_factor_exempt = True

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
