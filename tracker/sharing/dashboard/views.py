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

from tracker.accounts.dashboard import second_factor_required
from tracker.alerts.selectors import open_alerts_for_grant
from tracker.clinics.selectors import is_clinic_admin
from tracker.insights.scoring import distance_to_secure, quadrant
from tracker.models import AccessLogEntry, Scope
from tracker.reports.download import report_response
from tracker.sharing import services as sharing
from tracker.sharing.dashboard import charts
from tracker.sharing.resources import (
    RESOURCES,
    digest_for_grant,
    shared_resource_or_404,
    shared_resources,
    shared_trend,
    status_line,
)
from tracker.sharing.selectors import shared_data
from tracker.sharing.selectors.grants import can_use_therapist_views, grant_for_therapist, shared_grants_for_therapist

RECENT_ITEMS = 10
DIRECTION_LABELS = {
    "improving": ("↘", "Improving (closer to secure)"),
    "stable": ("→", "Stable"),
    "worsening": ("↗", "Worsening (further from secure)"),
    "insufficient_data": ("·", "Not enough weeks yet"),
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
@second_factor_required
@require_GET
@_in_therapists_timezone
def client_list(request):
    if not can_use_therapist_views(request.user):
        if is_clinic_admin(request.user):
            return redirect("dashboard:clinics")
        return render(request, "dashboard/forbidden.html", status=403)
    grants = list(shared_grants_for_therapist(therapist=request.user).order_by("client__display_name", "client_id"))
    directions = shared_data.directions_for_clients(grants=grants)
    sharing.access_log_write(grants=grants, resource=AccessLogEntry.Resource.CLIENT_LIST, channel="web")
    rows = []
    for grant in grants:
        line = status_line(grant, directions.get(grant.client_id))
        rows.append({"grant": grant, "client": grant.client, **line, "direction": _direction(line["direction"])})
    return render(request, "dashboard/client_list.html", {"rows": rows})


def latest_position(weeks: list[dict], *, cut: float) -> dict | None:
    """Where the latest week with check-ins sits, and whether the two-week rule has settled a tendency.

    The position is the week's mean anxiety and avoidance; its quadrant and distance to secure are
    computed from those two means by the one boundary rule (secure exactly when the distance is 0).
    (The weekly table's "distance to secure" is the mean of the check-ins' own distances, which can be
    above 0 in a week whose mean position is secure.) The settled tendency follows the weekly
    summaries' two-week rule: it is named only when the week before the latest one (the calendar
    week) had check-ins and fell in the same quadrant."""
    filled = [i for i, week in enumerate(weeks) if week.get("anxiety") is not None]
    if not filled:
        return None
    index = filled[-1]
    week = weeks[index]
    anxiety, avoidance = week["anxiety"], week["avoidance"]
    position = {
        "week_start": week["week_start"],
        "anxiety": anxiety,
        "avoidance": avoidance,
        "quadrant": quadrant(anxiety=anxiety, avoidance=avoidance, cut=cut),
        "distance_to_secure": distance_to_secure(anxiety=anxiety, avoidance=avoidance, cut=cut),
        "cut": cut,
    }
    before = weeks[index - 1] if index > 0 else None
    if before is None or before.get("anxiety") is None:
        settled, reason = None, "the week before had no check-ins"
    else:
        previous = quadrant(anxiety=before["anxiety"], avoidance=before["avoidance"], cut=cut)
        if previous == position["quadrant"]:
            settled, reason = previous, "the last two weeks agree"
        else:
            settled, reason = None, f"the week before was {previous}, the latest week {position['quadrant']}"
    position["settled"] = settled
    position["settled_reason"] = reason
    return position


def client_page_context(grant) -> dict:
    """Everything the client page shows, cut to the grant's scopes (also used by tests).

    One panel per shared resource (its template from the registry); the charts show the parts of the
    trend report the grant reveals."""
    context: dict = {"grant": grant, "client": grant.client, "scopes": grant.scopes}
    context["show_notes"] = grant.allows(Scope.NOTES)
    context["panels"] = [
        {
            "template": resource.template,
            "rows": list(resource.rows(grant=grant).order_by(*resource.ordering)[:RECENT_ITEMS]),
        }
        for resource in shared_resources(grant)
    ]
    trend = shared_trend(grant=grant)
    if trend is not None and trend["weeks"] is not None:
        context["trend"] = trend
        context["direction"] = _direction(trend["direction"]["value"])
        context["quadrant"] = trend["quadrant"]["current"]
        context["position"] = latest_position(trend["weeks"], cut=trend["quadrant"]["cut"])
        context["trajectory_chart"] = charts.trajectory_svg(trend["trajectory"], cut=settings.QUADRANT_CUT)
        context["weekly_chart"] = charts.weekly_series_svg(trend["weeks"])
        context["weeks"] = trend["weeks"]
    if trend is not None and trend["regulation"] is not None:
        context["regulation"] = trend["regulation"]
        context["strategy_chart"] = charts.strategy_drop_svg(trend["regulation"]["strategies"])
    context["digest"] = digest_for_grant(grant=grant)
    context["open_alerts"] = list(open_alerts_for_grant(grant=grant))
    return context


@never_cache
@login_required
@second_factor_required
@require_GET
@_in_therapists_timezone
def client_detail(request, client_id):
    try:
        grant = shared_resource_or_404(therapist=request.user, client_id=client_id, scope=None)
    except Http404:
        return _not_found(request)
    context = client_page_context(grant)
    sharing.access_log_write(grants=[grant], resource=AccessLogEntry.Resource.CLIENT_PAGE, channel="web")
    return render(request, "dashboard/client_detail.html", context)


@never_cache
@login_required
@second_factor_required
@require_GET
@_in_therapists_timezone
def summary_detail(request, client_id, iso_year, iso_week):
    """One weekly summary's lines, within the grant's `summaries` scope (404 for every kind of "no")."""
    try:
        grant = shared_resource_or_404(therapist=request.user, client_id=client_id, scope=Scope.SUMMARIES)
    except Http404:
        return _not_found(request)
    summary = (
        RESOURCES[Scope.SUMMARIES]
        .rows(grant=grant)
        .filter(iso_year=iso_year, iso_week=iso_week)
        .order_by("-week_start", "-id")
        .first()
    )
    if summary is None:
        return _not_found(request)
    sharing.access_log_write(grants=[grant], resource=AccessLogEntry.Resource.SUMMARIES, channel="web")
    return render(
        request, "dashboard/summary_detail.html", {"grant": grant, "client": grant.client, "summary": summary}
    )


@never_cache
@login_required
@second_factor_required
@require_POST
def session_create(request, client_id):
    try:
        grant = grant_for_therapist(therapist=request.user, client_id=client_id)
    except Http404:
        return _not_found(request)
    sharing.session_mark(grant=grant)
    messages.success(request, "Session marked. The digest now starts from it.")
    return redirect("dashboard:client", client_id=client_id)


@never_cache
@login_required
@second_factor_required
@require_GET
@_in_therapists_timezone
def client_report_pdf(request, client_id):
    """The session report download (the same PDF as the API's clients/{id}/report/)."""
    try:
        grant = shared_resource_or_404(therapist=request.user, client_id=client_id, scope=None)
    except Http404:
        return _not_found(request)
    return report_response(grant=grant, channel=AccessLogEntry.Channel.WEB)
