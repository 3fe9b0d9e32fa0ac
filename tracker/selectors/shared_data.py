"""What a therapist sees of one client, cut to the grant's scopes.

The same functions back the therapist API, the web dashboard and the client's own preview of a
share, so "what the therapist can see" is computed in exactly one place."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from statistics import mean, median
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Avg, Count, QuerySet
from django.utils import timezone

from tracker.models import CheckIn, RegulationLog, Scope, ShareGrant, WeeklySummary
from tracker.selectors.sharing import last_session_at

EWMA_LAMBDA = 0.3
DIGEST_BASELINE_DAYS = 14


def shared_checkins(*, grant: ShareGrant) -> QuerySet[CheckIn]:
    return CheckIn.objects.filter(user_id=grant.client_id, deleted_at__isnull=True).select_related("instrument")


def shared_regulation_logs(*, grant: ShareGrant) -> QuerySet[RegulationLog]:
    return RegulationLog.objects.filter(user_id=grant.client_id, deleted_at__isnull=True)


def shared_summaries(*, grant: ShareGrant) -> QuerySet[WeeklySummary]:
    return WeeklySummary.objects.filter(user_id=grant.client_id)


# --- trends ----------------------------------------------------------------------------------------
# Interim: until the trends issue (tracker.selectors.trends.trend_for_user) is merged, a minimal
# weekly series in the same shape. `trend_for_client` is the one place that picks the source.


def _week_start(at: datetime, tz: ZoneInfo) -> date:
    local = at.astimezone(tz).date()
    return local - timedelta(days=local.weekday())


def _weekly_points(rows, tz: ZoneInfo) -> list[dict]:
    """rows: (occurred_at, anxiety, avoidance, distance) → weekly means with EWMA, oldest first."""
    buckets: dict[date, list[tuple[float, float, float]]] = defaultdict(list)
    for occurred_at, anxiety, avoidance, distance in rows:
        buckets[_week_start(occurred_at, tz)].append((anxiety, avoidance, distance))
    points: list[dict] = []
    ewma: dict[str, float] = {}
    for week_start in sorted(buckets):
        values = buckets[week_start]
        point = {
            "week_start": week_start.isoformat(),
            "iso_year": week_start.isocalendar()[0],
            "iso_week": week_start.isocalendar()[1],
            "checkins": len(values),
            "anxiety": mean(v[0] for v in values),
            "avoidance": mean(v[1] for v in values),
            "distance_to_secure": mean(v[2] for v in values),
        }
        for key in ("anxiety", "avoidance", "distance_to_secure"):
            ewma[key] = point[key] if key not in ewma else EWMA_LAMBDA * point[key] + (1 - EWMA_LAMBDA) * ewma[key]
        point["ewma"] = dict(ewma)
        points.append(point)
    return points


def _direction(points: list[dict]) -> str:
    if len(points) < 3:
        return "insufficient_data"
    ys = [p["distance_to_secure"] for p in points[-12:]]
    slopes = sorted((ys[j] - ys[i]) / (j - i) for i in range(len(ys)) for j in range(i + 1, len(ys)))
    slope = median(slopes)
    if slope < -1e-9:
        return "improving"
    if slope > 1e-9:
        return "worsening"
    return "stable"


def _quadrant(anxiety: float, avoidance: float, cut: float) -> str:
    if anxiety < cut and avoidance < cut:
        return "secure"
    if anxiety >= cut and avoidance < cut:
        return "preoccupied"
    if avoidance >= cut and anxiety < cut:
        return "dismissing"
    return "fearful"


def _regulation(logs) -> dict:
    logs = list(logs)
    drops = [
        log.intensity_before - log.intensity_after
        for log in logs
        if log.intensity_before is not None and log.intensity_after is not None
    ]
    per_strategy: dict[str, list[int]] = defaultdict(list)
    for log in logs:
        if log.intensity_before is None or log.intensity_after is None:
            continue
        for strategy in log.strategies or []:
            per_strategy[str(strategy)].append(log.intensity_before - log.intensity_after)
    recoveries = [log.recovery_minutes for log in logs if log.recovery_minutes is not None]
    reached = [log for log in logs if log.reached_out is not None]
    befores = [log.intensity_before for log in logs if log.intensity_before is not None]
    return {
        "episodes": len(logs),
        "mean_intensity_before": mean(befores) if befores else None,
        "mean_drop": mean(drops) if drops else None,
        "median_recovery_minutes": median(recoveries) if recoveries else None,
        "co_regulation_share": (sum(1 for log in reached if log.reached_out) / len(reached)) if reached else None,
        "strategies": [
            {"strategy": code, "family": None, "episodes": len(values), "mean_drop": mean(values)}
            for code, values in sorted(per_strategy.items())
            if len(values) >= 3
        ],
    }


def _interim_trend_for_user(*, user, weeks: int = 12, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    tz = ZoneInfo(user.timezone)
    since = now - timedelta(weeks=weeks)
    rows = CheckIn.objects.filter(
        user_id=user.pk, deleted_at__isnull=True, occurred_at__gt=since, occurred_at__lte=now
    ).values_list("occurred_at", "anxiety", "avoidance", "distance_to_secure")
    points = _weekly_points(rows, tz)
    cut = settings.QUADRANT_CUT
    logs = RegulationLog.objects.filter(
        user_id=user.pk, deleted_at__isnull=True, occurred_at__gt=since, occurred_at__lte=now
    ).only("intensity_before", "intensity_after", "strategies", "recovery_minutes", "reached_out")
    return {
        "weeks": points,
        "trajectory": [
            {"week_start": p["week_start"], "anxiety": p["anxiety"], "avoidance": p["avoidance"]} for p in points
        ],
        "direction": {"value": _direction(points)},
        "quadrant": {
            "current": _quadrant(points[-1]["anxiety"], points[-1]["avoidance"], cut) if points else None,
            "cut": cut,
        },
        "regulation": _regulation(logs),
        "metadata": {"weeks": weeks, "timezone": user.timezone, "source": "interim"},
    }


def trend_for_client(*, user, weeks: int = 12, now: datetime | None = None) -> dict:
    return _interim_trend_for_user(user=user, weeks=weeks, now=now)


def shared_trends(*, grant: ShareGrant, now: datetime | None = None) -> dict:
    """The client's trends, with the regulation part only when regulation logs are shared."""
    trend = trend_for_client(user=grant.client, now=now)
    if not grant.allows(Scope.REGULATION_LOGS):
        trend["regulation"] = None
    return trend


def directions_for_clients(*, grants: list[ShareGrant], now: datetime | None = None) -> dict:
    """client_id → direction for the client list, from one query whatever the number of clients."""
    now = now or timezone.now()
    clients = {g.client_id: g.client for g in grants}
    if not clients:
        return {}
    rows: dict = defaultdict(list)
    for user_id, *row in CheckIn.objects.filter(
        user_id__in=list(clients), deleted_at__isnull=True, occurred_at__gt=now - timedelta(weeks=12)
    ).values_list("user_id", "occurred_at", "anxiety", "avoidance", "distance_to_secure"):
        rows[user_id].append(row)
    return {
        client_id: _direction(_weekly_points(rows.get(client_id, []), ZoneInfo(client.timezone)))
        for client_id, client in clients.items()
    }


# --- the "since last session" digest ----------------------------------------------------------------


def digest_for_grant(*, grant: ShareGrant, now: datetime | None = None) -> dict:
    """What changed since the therapist last marked a session (or since the share began)."""
    now = now or timezone.now()
    last_session = last_session_at(grant=grant)
    since = last_session or grant.accepted_at
    digest: dict = {
        "since": since,
        "last_session_at": last_session,
        "checkins": None,
        "regulation": None,
        "summaries": None,
    }
    if grant.allows(Scope.CHECKINS):
        checkins = shared_checkins(grant=grant)
        after = checkins.filter(occurred_at__gt=since, occurred_at__lte=now).aggregate(
            n=Count("id"), distance=Avg("distance_to_secure")
        )
        before = checkins.filter(
            occurred_at__lte=since, occurred_at__gt=since - timedelta(days=DIGEST_BASELINE_DAYS)
        ).aggregate(distance=Avg("distance_to_secure"))
        change = None
        if after["distance"] is not None and before["distance"] is not None:
            change = after["distance"] - before["distance"]
        digest["checkins"] = {
            "new": after["n"],
            "distance_to_secure_before": before["distance"],
            "distance_to_secure_since": after["distance"],
            "distance_to_secure_change": change,
        }
    if grant.allows(Scope.REGULATION_LOGS):
        logs = list(
            shared_regulation_logs(grant=grant)
            .filter(occurred_at__gt=since, occurred_at__lte=now)
            .only("occurred_at", "intensity_before", "intensity_after", "strategies", "safety_flag")
            .order_by("occurred_at")
        )
        strategies: dict[str, list] = defaultdict(list)
        for log in logs:
            drop = (
                log.intensity_before - log.intensity_after
                if log.intensity_before is not None and log.intensity_after is not None
                else None
            )
            for code in log.strategies or []:
                strategies[str(code)].append(drop)
        drops = [
            log.intensity_before - log.intensity_after
            for log in logs
            if log.intensity_before is not None and log.intensity_after is not None
        ]
        digest["regulation"] = {
            "episodes": len(logs),
            "mean_drop": mean(drops) if drops else None,
            "strategies": [
                {
                    "strategy": code,
                    "episodes": len(values),
                    "mean_drop": mean(known) if (known := [v for v in values if v is not None]) else None,
                }
                for code, values in sorted(strategies.items(), key=lambda kv: (-len(kv[1]), kv[0]))
            ],
            "safety_flags": [log.occurred_at for log in logs if log.safety_flag],
        }
    if grant.allows(Scope.SUMMARIES):
        digest["summaries"] = {
            "new_weeks": list(
                shared_summaries(grant=grant)
                .filter(computed_at__gt=since)
                .order_by("week_start")
                .values_list("week_start", flat=True)
            )
        }
    return digest
