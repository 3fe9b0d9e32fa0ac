"""Clinic reads. Every one is cut to clinics the caller administers; anything else is a 404."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.utils import timezone

from tracker.clinics.models import verified_membership_q
from tracker.common.errors import Invalid, NotFound
from tracker.insights import selectors as trend_selectors
from tracker.models import Clinic, ClinicInvitation, ClinicMembership, ShareGrant, User
from tracker.sharing.selectors.grants import live_grants_q


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


# Clinic outcomes: aggregates of the reliable change of the clinic's consenting clients.
OUTCOME_MIN_CLIENTS = 5
OUTCOME_DEFAULT_WEEKS = 12
OUTCOME_TOO_FEW = "too few clients to show"


def consenting_clients(*, clinic: Clinic, now: datetime) -> QuerySet[User]:
    """Clients with a live share that covers check-ins, held by a therapist who is a verified member
    of this clinic now (the same rule that lets the therapist read the data at all)."""
    therapists = ClinicMembership.objects.filter(verified_membership_q(now), clinic=clinic).values("user_id")
    grants = ShareGrant.objects.filter(live_grants_q(now), scope_checkins=True, therapist_id__in=therapists)
    return User.objects.filter(id__in=grants.values("client_id"), is_active=True).order_by("id")


def outcome_period(*, start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The period asked for, default the last 12 weeks up to today (UTC dates)."""
    end = end or today
    start = start or end - timedelta(weeks=OUTCOME_DEFAULT_WEEKS) + timedelta(days=1)
    fields: dict[str, list[str]] = {}
    if start > end:
        fields["from"] = ["Must not be after `to`."]
    elif (end - start).days + 1 > trend_selectors.MAX_WEEKS * 7:
        fields["from"] = [f"The period is at most {trend_selectors.MAX_WEEKS} weeks."]
    if end > today:
        fields["to"] = ["Must not be in the future."]
    if fields:
        raise Invalid(fields)
    return start, end


def _classify(rci: dict) -> str | None:
    """One client's verdict from the per-dimension Jacobson-Truax results of their trend report:
    worsened if either dimension reliably worsened (as the alert rule reads it, so a mixed client is
    never counted as improved), improved if one improved and none worsened, else unchanged; None when
    either dimension could not be assessed (too few weeks, or no SD/r)."""
    changes = [rci[dimension]["change"] for dimension in ("anxiety", "avoidance")]
    if None in changes:
        return None
    if "worsened" in changes:
        return "worsened"
    if "improved" in changes:
        return "improved"
    return "no_reliable_change"


def clinic_outcomes(*, clinic: Clinic, start: date, end: date, now: datetime | None = None) -> dict:
    """Counts and shares of the consenting clients who reliably improved, worsened or did not change.

    Each client's verdict is the reliable change of their own trend report (`trend_for_user`, the
    report the therapist and the alerts read) as of the end of `end` in the client's own timezone, over
    the local ISO weeks from the one holding `start` to the one holding `end`: the period is rounded
    out to whole weeks, as the weekly means of the RCI are (a check-in later in `end`'s week counts).
    Baseline = the client's first two weeks with check-ins ever, now = their last two in the period.
    Nothing per client leaves this function; under OUTCOME_MIN_CLIENTS assessed clients no number does.

    Two queries per client (the trend report's); a clinic's consenting clients are tens to hundreds.
    """
    now = now or timezone.now()
    verdicts = Counter()
    first_monday = start - timedelta(days=start.weekday())
    for client in consenting_clients(clinic=clinic, now=now):
        zone = ZoneInfo(client.timezone)
        as_of = min(now, datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone) - timedelta(microseconds=1))
        # The local weeks from the one holding `start` to the one holding `as_of`, both included.
        last_monday = as_of.astimezone(zone).date() - timedelta(days=as_of.astimezone(zone).weekday())
        weeks = max(1, min(trend_selectors.MAX_WEEKS, (last_monday - first_monday).days // 7 + 1))
        report = trend_selectors.trend_for_user(user=client, weeks=weeks, now=as_of)
        verdicts[_classify(report["statistics"]["reliable_change"])] += 1
    assessed = sum(n for verdict, n in verdicts.items() if verdict is not None)
    body: dict = {
        "from": start,
        "to": end,
        "minimum_clients": OUTCOME_MIN_CLIENTS,
        "shown": assessed >= OUTCOME_MIN_CLIENTS,
        "message": None,
        "clients": None,
        "not_assessed": None,
        "improved": None,
        "worsened": None,
        "no_reliable_change": None,
    }
    if not body["shown"]:
        body["message"] = OUTCOME_TOO_FEW
        return body
    body.update(clients=assessed, not_assessed=verdicts[None])
    for verdict in ("improved", "worsened", "no_reliable_change"):
        body[verdict] = {"count": verdicts[verdict], "share": round(verdicts[verdict] / assessed, 4)}
    return body
