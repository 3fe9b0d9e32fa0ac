"""Clinic reads. Every one is cut to clinics the caller administers; anything else is a 404."""

from __future__ import annotations

from django.db.models import QuerySet

from tracker.common.errors import NotFound
from tracker.models import Clinic, ClinicInvitation, ClinicMembership, User


def clinics_for_admin(*, user: User) -> QuerySet[Clinic]:
    if not getattr(user, "is_authenticated", False) or user.role == User.Role.CLIENT:
        return Clinic.objects.none()
    return Clinic.objects.filter(
        memberships__user=user, memberships__role=ClinicMembership.Role.ADMIN, memberships__suspended_at__isnull=True
    ).distinct()


def is_clinic_admin(user) -> bool:
    return clinics_for_admin(user=user).exists()


def clinic_for_admin(*, user: User, clinic_id) -> Clinic:
    clinic = clinics_for_admin(user=user).filter(pk=clinic_id).first()
    if clinic is None:
        raise NotFound()
    return clinic


def members(*, clinic: Clinic) -> QuerySet[ClinicMembership]:
    return ClinicMembership.objects.filter(clinic=clinic).select_related("user", "clinic")


def member(*, clinic: Clinic, member_id) -> ClinicMembership:
    membership = members(clinic=clinic).filter(pk=member_id).first()
    if membership is None:
        raise NotFound()
    return membership


def invitations(*, clinic: Clinic) -> QuerySet[ClinicInvitation]:
    return ClinicInvitation.objects.filter(clinic=clinic)
