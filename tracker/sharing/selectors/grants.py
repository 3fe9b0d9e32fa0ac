"""Sharing reads and the one authorization rule every therapist read goes through.

A therapist may read a client's data only through a grant that is active *now*: not revoked, not
past its expiry, held by a therapist who is still verified and active, and covering the scope in
question. The check hits the database on every request (no caching), so a client's revocation or
scope change applies to the very next request. Every "no" is the same 404, so a therapist cannot
tell a revoked share from a client who never existed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Count, DateTimeField, F, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from tracker.models import AccessLogEntry, CheckIn, RegulationLog, ShareGrant, ShareInvite, TherapySession, User


def can_use_therapist_views(user) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_active
        and getattr(user, "role", None) == User.Role.THERAPIST
        and user.is_verified_therapist
    )


def live_grants_q(now: datetime) -> Q:
    return Q(status=ShareGrant.Status.ACTIVE) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def grants_for_client(*, client: User) -> QuerySet[ShareGrant]:
    return ShareGrant.objects.filter(client=client).select_related("therapist")


def pending_invites_for_client(*, client: User, now: datetime | None = None) -> QuerySet[ShareInvite]:
    """Invites a therapist could still redeem: not used and not expired (cancelled ones are gone)."""
    return ShareInvite.objects.filter(client=client, used_at__isnull=True, expires_at__gt=now or timezone.now())


def grant_for_client_or_404(*, client: User, grant_id) -> ShareGrant:
    grant = grants_for_client(client=client).filter(pk=grant_id).first()
    if grant is None:
        raise Http404
    return grant


def grant_for_therapist(
    *, therapist, client_id, any_of: Iterable[str] | None = None, now: datetime | None = None
) -> ShareGrant:
    """The live grant through which `therapist` reads `client_id`'s data, or Http404.

    `any_of`: the read needs at least one of these scopes (None: any live grant will do)."""
    if not can_use_therapist_views(therapist):
        raise Http404
    query = ShareGrant.objects.filter(live_grants_q(now or timezone.now()), therapist=therapist, client_id=client_id)
    if any_of is not None:
        scope_q = Q()
        for scope in any_of:
            scope_q |= Q(**{f"scope_{scope}": True})
        query = query.filter(scope_q)
    grant = query.select_related("client").first()
    if grant is None:
        raise Http404
    return grant


def shared_grants_for_therapist(*, therapist, now: datetime | None = None) -> QuerySet[ShareGrant]:
    """The therapist's live grants with everything the client list's status line needs, in one query.

    Each figure is computed only where the grant's scope allows it; the Case-free way to do that is
    to compute it for all rows and let the serializer drop what the scope does not cover."""
    now = now or timezone.now()
    if not can_use_therapist_views(therapist):
        return ShareGrant.objects.none()
    last_session = (
        TherapySession.objects.filter(therapist_id=OuterRef("therapist_id"), client_id=OuterRef("client_id"))
        .values("client_id")
        .annotate(last=Max("occurred_at"))
        .values("last")
    )
    last_checkin = (
        CheckIn.objects.filter(user_id=OuterRef("client_id"), deleted_at__isnull=True)
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    safety_since = (
        RegulationLog.objects.filter(
            user_id=OuterRef("client_id"),
            deleted_at__isnull=True,
            safety_flag=True,
            occurred_at__gt=OuterRef("since"),
        )
        .values("user_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        ShareGrant.objects.filter(live_grants_q(now), therapist=therapist)
        .select_related("client")
        .annotate(
            last_session_at=Subquery(last_session, output_field=DateTimeField()),
            last_checkin_at=Subquery(last_checkin, output_field=DateTimeField()),
        )
        .annotate(since=Coalesce(F("last_session_at"), F("accepted_at")))
        .annotate(safety_flags_since=Coalesce(Subquery(safety_since), 0))
    )


def access_log_for_grant(*, grant: ShareGrant) -> QuerySet[AccessLogEntry]:
    return AccessLogEntry.objects.filter(grant=grant).select_related("therapist")


def last_session_at(*, grant: ShareGrant) -> datetime | None:
    return (
        TherapySession.objects.filter(therapist_id=grant.therapist_id, client_id=grant.client_id)
        .aggregate(last=Max("occurred_at"))
        .get("last")
    )
