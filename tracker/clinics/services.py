"""Clinic writes: appointing admins, inviting therapists, licences, suspension.

Verification is never set by hand: `User.is_verified_therapist` derives it from a membership whose
licence an admin verified, that has not expired and is not suspended (tracker.clinics.models). The
emails sent here carry the clinic's name and a link, never anything about a client."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from tracker.accounts import services as accounts
from tracker.common.errors import Conflict, Forbidden, Invalid, NotFound
from tracker.models import Clinic, ClinicInvitation, ClinicMembership, DeviceToken, User


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_link(token: str) -> str:
    return settings.DASHBOARD_BASE_URL + reverse("dashboard:clinic-join", kwargs={"token": token})


@transaction.atomic
def clinic_create(*, name: str, admin: User) -> Clinic:
    """Staff open a clinic and appoint its first admin (`manage.py clinic_create`, or the admin site)."""
    if admin.role == User.Role.CLIENT:
        raise Invalid({"admin": ["A client account cannot run a clinic."]})
    clinic = Clinic.objects.create(name=name)
    ClinicMembership.objects.create(clinic=clinic, user=admin, role=ClinicMembership.Role.ADMIN)
    return clinic


def invitation_create(*, clinic: Clinic, by: User, email: str, now: datetime | None = None) -> ClinicInvitation:
    """Email a single-use link that lets a therapist join `clinic` (valid CLINIC_INVITATION_TTL_HOURS)."""
    now = now or timezone.now()
    email = User.objects.normalize_email(email).lower()
    if ClinicMembership.objects.filter(clinic=clinic, user__email=email).exists():
        raise Conflict("This person is already in the clinic.", code="already_member")
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(hours=settings.CLINIC_INVITATION_TTL_HOURS)
    with transaction.atomic():
        invitation = ClinicInvitation.objects.create(
            clinic=clinic, email=email, token_hash=token_hash(token), invited_by=by, expires_at=expires_at
        )
        # Sent on commit: no email for an invitation that was rolled back.
        transaction.on_commit(lambda: _send_invitation(invitation, token))
    return invitation


def _send_invitation(invitation: ClinicInvitation, token: str) -> None:
    expires = invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    send_mail(
        subject=f"Join {invitation.clinic.name} on Securebase",
        message=(
            f"{invitation.clinic.name} invites you to Securebase as a therapist.\n\n"
            f"Open this link to join (it works once, until {expires}):\n{invitation_link(token)}\n\n"
            "If you did not expect this, ignore this email."
        ),
        from_email=None,
        recipient_list=[invitation.email],
    )


def invitation_cancel(*, invitation: ClinicInvitation) -> None:
    if invitation.used_at is not None:
        raise Conflict("This invitation was already used.", code="invitation_used")
    invitation.delete()


def invitation_pending(*, token: str, now: datetime | None = None) -> ClinicInvitation:
    """The unused, unexpired invitation for this link's token, or NotFound (the same for every "no")."""
    invitation = (
        ClinicInvitation.objects.select_related("clinic")
        .filter(token_hash=token_hash(token), used_at__isnull=True, expires_at__gt=now or timezone.now())
        .first()
    )
    if invitation is None:
        raise NotFound("This invitation link is not valid (used, expired or cancelled).", code="invitation_invalid")
    return invitation


@transaction.atomic
def invitation_accept(
    *, token: str, password: str, display_name: str = "", now: datetime | None = None
) -> ClinicMembership:
    """Join the clinic: with the existing therapist account of the invited email (its password), or a
    new therapist account with this password. The conditional UPDATE makes the link single-use; any
    failure after it rolls back, leaving the link usable and nothing half-written."""
    now = now or timezone.now()
    invitation = invitation_pending(token=token, now=now)
    claimed = ClinicInvitation.objects.filter(pk=invitation.pk, used_at__isnull=True, expires_at__gt=now).update(
        used_at=now
    )
    if claimed != 1:
        raise NotFound("This invitation link is not valid (used, expired or cancelled).", code="invitation_invalid")
    user = User.objects.filter(email=invitation.email).first()
    if user is not None:
        user = accounts.credentials_check(email=invitation.email, password=password)
        if user.role != User.Role.THERAPIST:
            raise Forbidden("Only a therapist account can join as a therapist.", code="not_a_therapist")
    else:
        user = User(email=invitation.email, display_name=display_name[:80], role=User.Role.THERAPIST)
        try:
            validate_password(password, user=user)
        except ValidationError as exc:
            raise Invalid({"password": exc.messages}) from None
        user.set_password(password)
        user.save()
    try:
        with transaction.atomic():
            membership = ClinicMembership.objects.create(
                clinic=invitation.clinic, user=user, role=ClinicMembership.Role.THERAPIST
            )
    except IntegrityError:
        raise Conflict("You are already in this clinic.", code="already_member") from None
    ClinicInvitation.objects.filter(pk=invitation.pk).update(membership=membership)
    return membership


def _therapist_member(membership: ClinicMembership) -> None:
    if membership.role != ClinicMembership.Role.THERAPIST:
        raise Conflict("Licences and suspension apply to therapists, not clinic admins.", code="not_a_therapist")


@transaction.atomic
def licence_record(
    *, membership: ClinicMembership, number: str, jurisdiction: str, expires_on: date
) -> ClinicMembership:
    """Record (or change) a licence. Changed details need checking again: verification is cleared."""
    _therapist_member(membership)
    changed = (membership.licence_number, membership.licence_jurisdiction, membership.licence_expires_on) != (
        number,
        jurisdiction,
        expires_on,
    )
    membership.licence_number, membership.licence_jurisdiction = number, jurisdiction
    membership.licence_expires_on = expires_on
    if changed:
        membership.licence_verified_at = None
        membership.licence_verified_by = None
    membership.save()
    return membership


@transaction.atomic
def licence_verify(*, membership: ClinicMembership, by: User, now: datetime | None = None) -> ClinicMembership:
    """An admin confirms they checked the licence. An expired or missing licence cannot be verified,
    and nobody verifies their own."""
    now = now or timezone.now()
    _therapist_member(membership)
    if membership.user_id == by.pk:
        raise Forbidden("Another admin has to verify your own licence.", code="own_licence")
    if not membership.licence_number or membership.licence_expires_on is None:
        raise Conflict("Record the licence number, jurisdiction and expiry first.", code="licence_missing")
    if not membership.licence_current(now):
        raise Conflict("This licence has expired; record the renewed one.", code="licence_expired")
    membership.licence_verified_at = now
    membership.licence_verified_by = by
    membership.save(update_fields=["licence_verified_at", "licence_verified_by"])
    return membership


@transaction.atomic
def member_suspend(*, membership: ClinicMembership, by: User, now: datetime | None = None) -> ClinicMembership:
    """Suspend a therapist: from the very next request they are not verified (no client data, API or
    dashboard), and their API tokens are revoked so every API call answers 401."""
    _therapist_member(membership)
    if membership.suspended_at is None:
        membership.suspended_at = now or timezone.now()
        membership.save(update_fields=["suspended_at"])
    DeviceToken.objects.filter(user_id=membership.user_id).delete()
    return membership


@transaction.atomic
def member_reinstate(*, membership: ClinicMembership) -> ClinicMembership:
    _therapist_member(membership)
    membership.suspended_at = None
    membership.save(update_fields=["suspended_at"])
    return membership
