"""What the session report shows: the figures of the client page and the digest, cut to the share.

Nothing is computed here that the dashboard does not already show: the trend is `shared_trend`
(the trend engine cut to scope), the digest is `digest_for_grant`, the alerts are the therapist's
visible alerts of this share since the digest's start. A section outside the share's scope is None."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from tracker.alerts.selectors import alerts_since
from tracker.models import AlertKind, ShareGrant
from tracker.sharing.resources import digest_for_grant, shared_trend


def session_report(*, grant: ShareGrant, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    trend = shared_trend(grant=grant, now=now)
    digest = digest_for_grant(grant=grant, now=now)
    alerts = [
        {"rule": AlertKind(a.kind).label, "fired_at": a.fired_at, "acknowledged_at": a.acknowledged_at}
        for a in alerts_since(grant=grant, since=digest["since"])
    ]
    return {
        "client": grant.client,
        "scopes": grant.scope_labels,
        "generated_at": now,
        "trend": trend,
        "digest": digest,
        "alerts": alerts,
    }
