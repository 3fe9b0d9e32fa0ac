"""The dashboard's alert pages: the therapist's list and acknowledging (a POST form with CSRF).

Same rules as the API: only the therapist's own alerts through live shares in scope, 404 for any
other id, an access-log row per client shown, never cached by the browser."""

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from tracker.accounts.dashboard import second_factor_required
from tracker.alerts import selectors, services
from tracker.models import AccessLogEntry, AlertKind
from tracker.sharing import services as sharing
from tracker.sharing.selectors.grants import can_use_therapist_views

LIST_LIMIT = 200


@never_cache
@login_required
@second_factor_required
@require_GET
def alert_list(request):
    if not can_use_therapist_views(request.user):
        return render(request, "dashboard/forbidden.html", status=403)
    alerts = list(selectors.alerts_for_therapist(therapist=request.user).order_by("-fired_at", "-id")[:LIST_LIMIT])
    grants = {alert.grant_id: alert.grant for alert in alerts}
    sharing.access_log_write(grants=grants.values(), resource=AccessLogEntry.Resource.ALERTS, channel="web")
    rows = [{"alert": alert, "label": AlertKind(alert.kind).label} for alert in alerts]
    # Times in the therapist's own zone, as on the other dashboard pages.
    with timezone.override(ZoneInfo(request.user.timezone or "UTC")):
        return render(request, "dashboard/alerts.html", {"rows": rows})


@never_cache
@login_required
@second_factor_required
@require_POST
def alert_acknowledge(request, alert_id):
    try:
        alert = selectors.alert_for_therapist_or_404(therapist=request.user, alert_id=alert_id)
    except Http404:
        return render(request, "dashboard/not_found.html", status=404)
    services.alert_acknowledge(alert=alert, by=request.user)
    sharing.access_log_write(grants=[alert.grant], resource=AccessLogEntry.Resource.ALERTS, channel="web")
    messages.success(request, "Alert acknowledged.")
    return redirect("dashboard:alerts")
