"""Second factor for therapists, clinic admins and staff: TOTP (django-otp) plus ten recovery codes.

A service module (no DRF). The invariants the rest of the code relies on:

- a user who `needs_second_factor` and has a confirmed TOTP device gets an API token only through
  `login_complete` (password, then a code), so every token of an enrolled user passed both steps;
- confirming enrolment revokes the user's other tokens, which were issued on a password alone;
- wrong codes count toward a lockout per user exactly like wrong passwords (LOGIN_FAILURE_LIMIT,
  LOGIN_LOCKOUT_SECONDS), and answer 429 with Retry-After. django-otp's own per-device backoff is
  off (settings: OTP_*_THROTTLE_FACTOR = 0) so there is one throttle with one error shape.
"""

from __future__ import annotations

import secrets
from base64 import b32encode
from dataclasses import dataclass
from datetime import datetime, timedelta

import segno
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tracker.accounts import services as accounts
from tracker.common import lockout
from tracker.common.errors import Conflict, Forbidden, Throttled, Unauthenticated
from tracker.models import DeviceToken, User

MFA_LOCK_SCOPE = "login-mfa"
MFA_TOKEN_SALT = "tracker.accounts.mfa-login"  # noqa: S105 - a signing namespace, not a secret
RECOVERY_CODES = 10
TOTP_NAME = "authenticator"
RECOVERY_NAME = "recovery codes"


class SecondFactorLocked(Throttled):
    code = "account_locked"
    message = "Too many wrong codes; try again later."


class InvalidCode(Unauthenticated):
    code = "invalid_code"
    message = "The code is wrong or was already used."


class InvalidMfaToken(Unauthenticated):
    code = "invalid_mfa_token"
    message = "This sign-in step expired or is not valid; log in with your password again."


@dataclass(frozen=True)
class MfaChallenge:
    """What a password login answers for an enrolled user instead of a token."""

    mfa_token: str
    expires_at: datetime


@dataclass(frozen=True)
class Enrolment:
    secret: str  # base32, for typing into an authenticator app by hand
    otpauth_url: str
    qr_svg: str  # inline <svg> (segno), no external service sees the secret


def totp_device(user: User, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("-id").first()


def has_second_factor(user) -> bool:
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists()


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


# --- login ------------------------------------------------------------------------------------------


def _challenge_for(user: User, device_name: str) -> MfaChallenge:
    # Bound to the password hash (via the session auth hash): a password change kills pending challenges.
    payload = {"u": str(user.pk), "d": device_name, "h": user.get_session_auth_hash()[:20]}
    token = signing.dumps(payload, salt=MFA_TOKEN_SALT, compress=True)
    return MfaChallenge(mfa_token=token, expires_at=timezone.now() + timedelta(seconds=settings.MFA_LOGIN_TTL_SECONDS))


def user_login(*, email: str, password: str, device_name: str = "") -> accounts.IssuedToken | MfaChallenge:
    """Step one: the password (with lockout). A token, or for an enrolled user a short-lived challenge."""
    user = accounts.credentials_check(email=email, password=password)
    if user.needs_second_factor and has_second_factor(user):
        return _challenge_for(user, device_name)
    return accounts.issue_token(user=user, device_name=device_name)


def challenge_user(*, mfa_token: str) -> tuple[User, str]:
    try:
        payload = signing.loads(mfa_token, salt=MFA_TOKEN_SALT, max_age=settings.MFA_LOGIN_TTL_SECONDS)
    except signing.BadSignature:  # includes SignatureExpired
        raise InvalidMfaToken() from None
    user = User.objects.filter(pk=payload.get("u"), is_active=True).first()
    if user is None or user.get_session_auth_hash()[:20] != payload.get("h"):
        raise InvalidMfaToken()
    return user, payload.get("d", "")


def login_complete(*, mfa_token: str, code: str) -> accounts.IssuedToken:
    """Step two: a TOTP or recovery code for the challenge's user; then the device token."""
    user, device_name = challenge_user(mfa_token=mfa_token)
    second_factor_check(user=user, code=code)
    return accounts.issue_token(user=user, device_name=device_name)


def second_factor_check(*, user: User, code: str) -> Device:
    """The device that accepts `code` (TOTP first, then a single-use recovery code), under lockout."""
    ident = str(user.pk)
    retry_after = lockout.lock_retry_after(scope=MFA_LOCK_SCOPE, ident=ident)
    if retry_after is not None:
        raise SecondFactorLocked(retry_after=retry_after)
    code = "".join(str(code).split()).lower()
    for device_class in (TOTPDevice, StaticDevice):
        for device in device_class.objects.filter(user=user, confirmed=True):
            if code and device.verify_token(code):
                lockout.failures_reset(scope=MFA_LOCK_SCOPE, ident=ident)
                return device
    if lockout.failure_record(
        scope=MFA_LOCK_SCOPE,
        ident=ident,
        limit=settings.LOGIN_FAILURE_LIMIT,
        lock_seconds=settings.LOGIN_LOCKOUT_SECONDS,
    ):
        raise SecondFactorLocked(retry_after=settings.LOGIN_LOCKOUT_SECONDS)
    raise InvalidCode()


# --- enrolment --------------------------------------------------------------------------------------


def _enrolment_for(device: TOTPDevice) -> Enrolment:
    url = device.config_url
    svg = segno.make(url, error="m").svg_inline(scale=4, title="QR code for your authenticator app", border=4)
    svg = svg.replace("<svg ", '<svg role="img" ', 1)  # its <title> is then its accessible name
    return Enrolment(secret=b32encode(device.bin_key).decode(), otpauth_url=url, qr_svg=svg)


def _needs_one(user: User) -> None:
    # Client logins never ask for a code, so a client's authenticator would protect nothing.
    if not user.needs_second_factor:
        raise Forbidden("Two-factor sign-in is for therapists, clinic admins and staff.", code="mfa_not_available")


@transaction.atomic
def totp_enrolment_start(*, user: User) -> Enrolment:
    """A fresh unconfirmed TOTP device (replacing an earlier unconfirmed one) to scan and confirm."""
    _needs_one(user)
    if has_second_factor(user):
        raise Conflict("A second factor is already enrolled.", code="already_enrolled")
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return _enrolment_for(device)


def totp_enrolment_pending(*, user: User) -> Enrolment | None:
    device = totp_device(user, confirmed=False)
    return _enrolment_for(device) if device is not None else None


def totp_enrolment_confirm(
    *, user: User, code: str, keep_token: DeviceToken | None = None
) -> tuple[TOTPDevice, list[str]]:
    """Confirm the pending device with a code from the app; returns it and ten fresh recovery codes
    (shown once). Every other token of the user is revoked: they were issued on a password alone."""
    _needs_one(user)
    if has_second_factor(user):
        raise Conflict("A second factor is already enrolled.", code="already_enrolled")
    device = totp_device(user, confirmed=False)
    if device is None:
        raise Conflict("Start enrolment first.", code="enrolment_not_started")
    ident = str(user.pk)
    retry_after = lockout.lock_retry_after(scope=MFA_LOCK_SCOPE, ident=ident)
    if retry_after is not None:
        raise SecondFactorLocked(retry_after=retry_after)
    if not device.verify_token("".join(str(code).split())):
        if lockout.failure_record(
            scope=MFA_LOCK_SCOPE,
            ident=ident,
            limit=settings.LOGIN_FAILURE_LIMIT,
            lock_seconds=settings.LOGIN_LOCKOUT_SECONDS,
        ):
            raise SecondFactorLocked(retry_after=settings.LOGIN_LOCKOUT_SECONDS)
        raise InvalidCode()
    lockout.failures_reset(scope=MFA_LOCK_SCOPE, ident=ident)
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = recovery_codes_replace(user=user)
        others = DeviceToken.objects.filter(user=user)
        if keep_token is not None:
            others = others.exclude(pk=keep_token.pk)
        others.delete()
    return device, codes


@transaction.atomic
def recovery_codes_replace(*, user: User) -> list[str]:
    """Ten new single-use recovery codes; the old ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes: set[str] = set()
    while len(codes) < RECOVERY_CODES:
        codes.add(StaticToken.random_token())
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return sorted(codes)


def demo_totp_device(*, user: User, hex_key: str) -> TOTPDevice:
    """A confirmed device with a known key, for seed_demo only (the contract tests compute its codes)."""
    TOTPDevice.objects.filter(user=user).delete()
    return TOTPDevice.objects.create(user=user, name=TOTP_NAME, key=hex_key, confirmed=True)


def new_hex_key() -> str:
    return secrets.token_hex(20)
