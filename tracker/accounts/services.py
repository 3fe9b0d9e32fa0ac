"""Accounts: registration, per-device login tokens, lockout after repeated failures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tracker.accounts.signals import user_timezone_changed
from tracker.common import lockout
from tracker.common.errors import Conflict, Invalid, Throttled, Unauthenticated
from tracker.models import DeviceToken, User


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime | None
    user: User


class LoginLocked(Throttled):
    """Too many failed logins for this email; try again after `retry_after` seconds."""

    code = "account_locked"
    message = "Too many failed logins; try again later."


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"
    message = "Email or password is wrong."


def _invalid(exc: ValidationError, field: str) -> Invalid:
    """Django's ValidationError (from a validator or `full_clean`) as `Invalid`; a plain list of
    messages is put on `field`."""
    return Invalid(exc.message_dict if hasattr(exc, "error_dict") else {field: exc.messages})


def issue_token(*, user: User, device_name: str) -> IssuedToken:
    """A device token, no questions asked: callers have checked the password (and second factor)."""
    instance, token = DeviceToken.objects.create(user=user, device_name=device_name[:80])
    return IssuedToken(token=token, expires_at=instance.expiry, user=user)


@transaction.atomic
def user_register(
    *,
    email: str,
    password: str,
    display_name: str = "",
    role: str = User.Role.CLIENT,
    timezone: str = "UTC",
    locale: str = "en",
    device_name: str = "",
) -> IssuedToken:
    """Create an account and its first device token. Therapists start unverified."""
    email = User.objects.normalize_email(email).lower()
    user = User(email=email, display_name=display_name, role=role, timezone=timezone, locale=locale)
    try:
        validate_password(password, user=user)  # raises ValidationError with every failed rule
        user.set_password(password)
        user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise _invalid(exc, "password") from None
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        # The unique index, not a prior SELECT, decides: two racing registrations yield one user.
        # 409, not 400: the body is valid, it conflicts with an existing account (state, not shape).
        raise Conflict(
            "An account with this email already exists.",
            code="email_taken",
            fields={"email": ["An account with this email already exists."]},
        ) from None
    return issue_token(user=user, device_name=device_name)


LOGIN_LOCK_SCOPE = "login"


def credentials_check(*, email: str, password: str) -> User:
    """The user with these credentials, under the lockout shared by every way of logging in.

    Failures are counted per email (whether or not the account exists, so the lock reveals
    nothing); after LOGIN_FAILURE_LIMIT of them the email is locked for LOGIN_LOCKOUT_SECONDS,
    and even the right password is refused until then. The API login and the dashboard's session
    login both come through here, so one cannot be used to get around the other's lock."""
    email = User.objects.normalize_email(email).lower()
    retry_after = lockout.lock_retry_after(scope=LOGIN_LOCK_SCOPE, ident=email)
    if retry_after is not None:
        raise LoginLocked(retry_after=retry_after)

    user = authenticate(email=email, password=password)
    if user is None:
        if lockout.failure_record(
            scope=LOGIN_LOCK_SCOPE,
            ident=email,
            limit=settings.LOGIN_FAILURE_LIMIT,
            lock_seconds=settings.LOGIN_LOCKOUT_SECONDS,
        ):
            raise LoginLocked(retry_after=settings.LOGIN_LOCKOUT_SECONDS)
        raise InvalidCredentials()

    lockout.failures_reset(scope=LOGIN_LOCK_SCOPE, ident=email)
    return user


def token_revoke(*, token: DeviceToken) -> None:
    token.delete()


def tokens_revoke_all(*, user: User) -> int:
    deleted, _ = DeviceToken.objects.filter(user=user).delete()
    return deleted


@transaction.atomic
def user_update(*, user: User, **changes: str) -> User:
    """Change profile fields. A timezone change later reschedules the user's reminders."""
    allowed = {"display_name", "timezone", "locale", "country"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    fields = list(changes)
    timezone_changed = "timezone" in changes and changes["timezone"] != user.timezone
    if timezone_changed:
        # Their week now ends at another instant; the summary job reschedules them on its next tick.
        from tracker.insights.services import reset_summary_schedule

        reset_summary_schedule(user=user)
        fields.append("next_summary_at")
    for name, value in changes.items():
        setattr(user, name, value)
    try:
        user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise _invalid(exc, "non_field_errors") from None
    user.save(update_fields=fields)
    if timezone_changed:
        user_timezone_changed.send(sender=User, user=user)
    return user


def tokens_purge_job(*, now: datetime) -> int:
    """Scheduler job: delete expired device tokens in one statement (authentication ignores them already)."""
    deleted, _ = DeviceToken.objects.filter(expiry__lte=now).delete()
    return deleted
