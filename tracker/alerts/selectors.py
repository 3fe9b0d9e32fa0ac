"""Alert reads. A therapist sees an alert only through a share that is live now, whose client has
not switched the rule off, and whose scopes still cover the data that raised it."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from tracker.alerts.models import Alert, AlertRule
from tracker.sharing.models import ALL_SCOPES, ShareGrant
from tracker.sharing.selectors.grants import can_use_therapist_views, live_grants_q


def _scope_still_shared() -> Q:
    q = Q()
    for scope in ALL_SCOPES:
        q |= Q(scope=scope, **{f"grant__scope_{scope}": True})
    return q


def visible_alerts(*, now: datetime | None = None) -> QuerySet[Alert]:
    """Every alert some therapist may see now (callers narrow it to one therapist or one share)."""
    now = now or timezone.now()
    live = Q(grant__status=ShareGrant.Status.ACTIVE) & (
        Q(grant__expires_at__isnull=True) | Q(grant__expires_at__gt=now)
    )
    return Alert.objects.filter(live, _scope_still_shared(), rule__enabled=True)


def alerts_for_therapist(*, therapist, now: datetime | None = None) -> QuerySet[Alert]:
    if not can_use_therapist_views(therapist):
        return Alert.objects.none()
    return visible_alerts(now=now).filter(therapist=therapist).select_related("client", "acknowledged_by", "grant")


def alert_for_therapist_or_404(*, therapist, alert_id) -> Alert:
    alert = alerts_for_therapist(therapist=therapist).filter(pk=alert_id).first()
    if alert is None:
        raise Http404
    return alert


def open_alerts_for_grant(*, grant: ShareGrant) -> QuerySet[Alert]:
    """The share's alerts the therapist has not acknowledged yet (the mark on the client page)."""
    return visible_alerts().filter(grant=grant, acknowledged_at__isnull=True).order_by("-fired_at")


def alerts_since(*, grant: ShareGrant, since: datetime) -> QuerySet[Alert]:
    return visible_alerts().filter(grant=grant, fired_at__gt=since).order_by("-fired_at")


def rules_for_grant(*, grant: ShareGrant) -> QuerySet[AlertRule]:
    return AlertRule.objects.filter(grant=grant).order_by("kind")


def live_grants(*, now: datetime) -> QuerySet[ShareGrant]:
    return ShareGrant.objects.filter(live_grants_q(now))
