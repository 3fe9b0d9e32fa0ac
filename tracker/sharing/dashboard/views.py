"""The therapist dashboard: server-rendered pages over the same selectors as the therapist API.

Every page re-checks the grant against the database (no caching), answers 404 for every kind of
"no" on a client's page, writes an access-log row per client whose data it shows, and is never
cached by the browser (health data)."""

from functools import wraps
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from tracker.insights.contracts import WeekOverWeek, weekly_summary_payload
from tracker.models import AccessLogEntry, Scope, WeeklySummary
from tracker.sharing import services as sharing
from tracker.sharing.dashboard import charts
from tracker.sharing.selectors import shared_data
from tracker.sharing.selectors.grants import can_use_therapist_views, grant_for_therapist, shared_grants_for_therapist

RECENT_ITEMS = 10
# A page with nothing but notes in scope would show nothing; it needs one of these.
PAGE_SCOPES = (Scope.CHECKINS, Scope.REGULATION_LOGS, Scope.SUMMARIES)
DIRECTION_LABELS = {
    "improving": ("↘", "Improving (closer to secure)"),
    "stable": ("→", "Stable"),
    "worsening": ("↗", "Worsening (further from secure)"),
    "insufficient_data": ("·", "Not enough weeks yet"),
}


WEEK_OVER_WEEK_LABELS: dict[WeekOverWeek, str] = {
    "closer_to_secure": "closer to secure than the week before",
    "steady": "about the same as the week before",
    "further_from_secure": "further from secure than the week before",
    "no_comparison": "no comparison with the week before",
}


def summary_row(summary: WeeklySummary) -> dict:
    """One line of the summaries card, read from the payload's contract (older payloads lack some keys)."""
    payload = weekly_summary_payload(summary.payload) or {}
    regulation = payload.get("regulation") or {}
    return {
        "iso_week": summary.iso_week,
        "iso_year": summary.iso_year,
        "week_start": summary.week_start,
        "checkins": payload.get("checkins"),
        "week_over_week": WEEK_OVER_WEEK_LABELS.get(payload.get("week_over_week")),
        "episodes": regulation.get("episodes"),
    }


def _in_therapists_timezone(view):
    """Show times in the therapist's own zone (their profile's IANA name), not the server's UTC."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        with timezone.override(ZoneInfo(getattr(request.user, "timezone", None) or "UTC")):
            return view(request, *args, **kwargs)

    return wrapped


def _not_found(request):
    return render(request, "dashboard/not_found.html", status=404)


def _direction(value: str | None) -> dict | None:
    if value is None:
        return None
    symbol, label = DIRECTION_LABELS.get(value, ("?", value))
    return {"value": value, "symbol": symbol, "label": label}


@never_cache
@login_required
@require_GET
@_in_therapists_timezone
def client_list(request):
    if not can_use_therapist_views(request.user):
        return render(request, "dashboard/forbidden.html", status=403)
    grants = list(shared_grants_for_therapist(therapist=request.user).order_by("client__display_name", "client_id"))
    directions = shared_data.directions_for_clients(grants=grants)
    sharing.access_log_write(grants=grants, resource=AccessLogEntry.Resource.CLIENT_LIST, channel="web")
    rows = [
        {
            "grant": grant,
            "client": grant.client,
            "last_checkin_at": grant.last_checkin_at if grant.allows(Scope.CHECKINS) else None,
            "direction": _direction(directions.get(grant.client_id)) if grant.allows(Scope.CHECKINS) else None,
            "safety_flags": grant.safety_flags_since if grant.allows(Scope.REGULATION_LOGS) else None,
            "last_session_at": grant.last_session_at,
        }
        for grant in grants
    ]
    return render(request, "dashboard/client_list.html", {"rows": rows})


def client_page_context(grant) -> dict:
    """Everything the client page shows, cut to the grant's scopes (also used by tests)."""
    context: dict = {"grant": grant, "client": grant.client, "scopes": grant.scopes}
    notes = grant.allows(Scope.NOTES)
    context["show_notes"] = notes
    trend = None
    if grant.allows(Scope.CHECKINS):
        trend = shared_data.shared_trends(grant=grant)
        context["trend"] = trend
        context["direction"] = _direction(trend["direction"]["value"])
        context["quadrant"] = trend["quadrant"]["current"]
        context["trajectory_chart"] = charts.trajectory_svg(trend["trajectory"], cut=settings.QUADRANT_CUT)
        context["weekly_chart"] = charts.weekly_series_svg(trend["weeks"])
        context["weeks"] = trend["weeks"]
        context["checkins"] = list(shared_data.shared_checkins(grant=grant).order_by("-occurred_at")[:RECENT_ITEMS])
    if grant.allows(Scope.REGULATION_LOGS):
        regulation = trend["regulation"] if trend else shared_data.trend_for_client(user=grant.client)["regulation"]
        context["regulation"] = regulation
        context["strategy_chart"] = charts.strategy_drop_svg(regulation["strategies"])
        context["logs"] = list(shared_data.shared_regulation_logs(grant=grant).order_by("-occurred_at")[:RECENT_ITEMS])
    if grant.allows(Scope.SUMMARIES):
        context["summaries"] = [
            summary_row(s) for s in shared_data.shared_summaries(grant=grant).order_by("-week_start")[:RECENT_ITEMS]
        ]
    context["digest"] = shared_data.digest_for_grant(grant=grant)
    return context


@never_cache
@login_required
@require_GET
@_in_therapists_timezone
def client_detail(request, client_id):
    try:
        grant = grant_for_therapist(therapist=request.user, client_id=client_id, any_of=PAGE_SCOPES)
    except Http404:
        return _not_found(request)
    context = client_page_context(grant)
    sharing.access_log_write(grants=[grant], resource=AccessLogEntry.Resource.CLIENT_PAGE, channel="web")
    return render(request, "dashboard/client_detail.html", context)


@never_cache
@login_required
@require_POST
def session_create(request, client_id):
    try:
        grant = grant_for_therapist(therapist=request.user, client_id=client_id)
    except Http404:
        return _not_found(request)
    sharing.session_mark(grant=grant)
    messages.success(request, "Session marked. The digest now starts from it.")
    return redirect("dashboard:client", client_id=client_id)
