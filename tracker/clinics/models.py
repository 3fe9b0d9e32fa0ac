"""Clinics: the organisations that vouch for therapists.

A therapist is verified (may accept shares and read what clients share) only through an active
membership in a clinic whose admin checked a licence that has not expired and who has not suspended
them (`verified_therapist_q`). The clinic itself holds no client data and no path to it: a client's
share is with one therapist, never with their clinic."""

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q


class Clinic(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class ClinicMembership(models.Model):
    """One person in one clinic: an admin (manages the clinic) or a therapist (with a licence)."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Clinic admin"
        THERAPIST = "therapist", "Therapist"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="clinic_memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    licence_number = models.CharField(max_length=64, blank=True, default="")
    licence_jurisdiction = models.CharField(max_length=64, blank=True, default="")
    # Valid through this calendar date (UTC): from the next day on the therapist is no longer verified.
    licence_expires_on = models.DateField(null=True, blank=True)
    # Set when a clinic admin checked the licence; cleared whenever the licence details change.
    licence_verified_at = models.DateTimeField(null=True, blank=True)
    licence_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suspended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "user"], name="clinic_membership_unique"),
            models.CheckConstraint(condition=Q(role__in=["admin", "therapist"]), name="clinic_membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"Membership {self.id}"

    def licence_current(self, now: datetime) -> bool:
        return self.licence_expires_on is not None and self.licence_expires_on >= now.date()

    def verified(self, now: datetime) -> bool:
        return (
            self.role == self.Role.THERAPIST
            and self.suspended_at is None
            and self.licence_verified_at is not None
            and self.licence_current(now)
        )


def verified_membership_q(now: datetime, prefix: str = "") -> Q:
    """Memberships that make their user a verified therapist at `now` (`prefix`: a relation path)."""
    return Q(
        **{
            f"{prefix}role": ClinicMembership.Role.THERAPIST,
            f"{prefix}suspended_at__isnull": True,
            f"{prefix}licence_verified_at__isnull": False,
            f"{prefix}licence_expires_on__gte": now.date(),
        }
    )


class ClinicInvitation(models.Model):
    """A single-use, expiring link a clinic admin sends to a therapist's email address.

    Only a hash of the token is stored; the link itself exists only in the email."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    membership = models.ForeignKey(ClinicMembership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return f"Invitation {self.id}"
