"""Everything the server holds about one user, for `GET /me/export` (the right of access).

One query per kind of record, each with the joins its serializer needs, so the export of a user
with ten years of check-ins costs the same number of queries as that of a new user (tests check it
at two sizes). Rows are read in full into memory: one user's data is small next to a server, and an
export is rate-limited.

What is included and why:
- live records only: tombstones (`deleted_at` set) are what the user deleted; the document says so
  with `deleted_records_excluded`.
- both sides of sharing: grants the user gave (as a client) and holds (as a therapist), the access
  log rows where they are the client (who read their data) or the therapist (what they read), the
  therapy sessions either side marked, and the invites the client created (never the code: only its
  hash is stored).
- the login tokens per device (names and dates; the server keeps only digests anyway).
- the sections other apps register (`tracker.data_rights.sections`): notifications adds the
  reminder schedule, push devices (token masked), the inbox and the delivery ledger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from tracker.data_rights.sections import EXPORT_SECTIONS
from tracker.entries.selectors.entries import checkin_list, regulation_log_list
from tracker.models import (
    AccessLogEntry,
    CheckIn,
    DeviceToken,
    RegulationLog,
    Scope,
    ShareGrant,
    ShareInvite,
    TherapySession,
    User,
    WeeklySummary,
)

EXPORT_FORMAT_VERSION = 1


@dataclass(frozen=True)
class UserExport:
    format_version: int
    exported_at: datetime
    user: User
    checkins: list[CheckIn]
    regulation_logs: list[RegulationLog]
    weekly_summaries: list[WeeklySummary]
    login_tokens: list[DeviceToken]
    shares_given: list[ShareGrant]
    shares_held: list[ShareGrant]
    share_invites: list[ShareInvite]
    access_log: list[AccessLogEntry]
    therapy_sessions: list[TherapySession]
    sections: dict[str, Any] = field(default_factory=dict)  # registered by other apps, by name
    deleted_records_excluded: bool = True


def user_export(*, user: User, now: datetime | None = None) -> UserExport:
    """The user's data as model instances, in a fixed number of queries (one per kind of record)."""
    return UserExport(
        format_version=EXPORT_FORMAT_VERSION,
        exported_at=now or timezone.now(),
        user=user,
        checkins=list(
            CheckIn.objects.filter(user=user, deleted_at__isnull=True)
            .select_related("instrument")
            .order_by("occurred_at", "id")
        ),
        regulation_logs=list(
            RegulationLog.objects.filter(user=user, deleted_at__isnull=True).order_by("occurred_at", "id")
        ),
        weekly_summaries=list(WeeklySummary.objects.filter(user=user).order_by("week_start")),
        login_tokens=list(DeviceToken.objects.filter(user=user).order_by("created")),
        shares_given=list(
            ShareGrant.objects.filter(client=user).select_related("therapist").order_by("created_at", "id")
        ),
        shares_held=list(
            ShareGrant.objects.filter(therapist=user).select_related("client").order_by("created_at", "id")
        ),
        share_invites=list(ShareInvite.objects.filter(client=user).order_by("created_at", "id")),
        access_log=list(
            AccessLogEntry.objects.filter(Q(client=user) | Q(therapist=user))
            .select_related("client", "therapist")
            .order_by("accessed_at", "id")
        ),
        therapy_sessions=list(
            TherapySession.objects.filter(Q(client=user) | Q(therapist=user))
            .select_related("client", "therapist")
            .order_by("occurred_at", "id")
        ),
        sections={name: section.collect(user=user) for name, section in EXPORT_SECTIONS.items()},
    )


@dataclass(frozen=True)
class FhirSource:
    """What one FHIR bundle holds (`tracker.data_rights.fhir`): a person's records, already cut to
    what the reader may see. Lists, read in a fixed number of queries whatever their length."""

    patient: User
    checkins: list[CheckIn] = field(default_factory=list)
    regulation_logs: list[RegulationLog] = field(default_factory=list)
    grants: list[ShareGrant] = field(default_factory=list)  # with `therapist` loaded


def fhir_source_for_user(*, user: User) -> FhirSource:
    """The user's own FHIR export: their check-ins and logs, and the shares they gave as a client.

    Shares they hold as a therapist are about other people (their consents, their records), so they
    stay out of this person's clinical bundle; the JSON export lists them."""
    return FhirSource(
        patient=user,
        checkins=list(checkin_list(user=user).order_by("occurred_at", "id")),
        regulation_logs=list(regulation_log_list(user=user).order_by("occurred_at", "id")),
        grants=list(ShareGrant.objects.filter(client=user).select_related("therapist").order_by("created_at", "id")),
    )


def fhir_source_for_grant(*, grant: ShareGrant) -> FhirSource:
    """A therapist's export of one client through one live grant: only the scopes it holds.

    Check-ins need `checkins`, regulation episodes `regulation_logs`; the Consent is this grant only
    (not the client's shares with other therapists)."""
    client = grant.client
    return FhirSource(
        patient=client,
        checkins=(
            list(checkin_list(user=client).order_by("occurred_at", "id")) if grant.allows(Scope.CHECKINS) else []
        ),
        regulation_logs=(
            list(regulation_log_list(user=client).order_by("occurred_at", "id"))
            if grant.allows(Scope.REGULATION_LOGS)
            else []
        ),
        grants=[grant],
    )
