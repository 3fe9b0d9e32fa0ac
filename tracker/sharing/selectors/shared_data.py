"""What a therapist sees of one client, cut to the grant's scopes.

The same functions back the therapist API, the web dashboard and the client's own preview of a
share; which of them a grant reaches is decided by the registry in tracker.sharing.resources."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Avg, Count, QuerySet
from django.utils import timezone

from tracker.common.weeks import WEEK, local_week_start
from tracker.entries.selectors.entries import checkin_list, regulation_log_list
from tracker.entries.vocabularies import STRATEGY_FAMILY
from tracker.insights import trends
from tracker.insights.selectors import (
    COMPLETE,
    DEFAULT_WEEKS,
    directions_for_users,
    points_from_rows,
    trend_config,
    trend_for_user,
)
from tracker.models import CheckIn, Instrument, RegulationLog, ShareGrant, WeeklySummary
from tracker.sharing.selectors.grants import last_session_at

DIGEST_BASELINE_DAYS = 14


def shared_checkins(*, grant: ShareGrant) -> QuerySet[CheckIn]:
    return checkin_list(user=grant.client_id)


def shared_regulation_logs(*, grant: ShareGrant) -> QuerySet[RegulationLog]:
    return regulation_log_list(user=grant.client_id)


def shared_summaries(*, grant: ShareGrant) -> QuerySet[WeeklySummary]:
    return WeeklySummary.objects.filter(user_id=grant.client_id)


# --- trends: the trends issue's engine, cut to scope ------------------------------------------------


def trend_for_client(*, user, weeks: int = DEFAULT_WEEKS, now: datetime | None = None) -> dict:
    return trend_for_user(user=user, weeks=weeks, now=now)


def directions_for_clients(*, grants: list[ShareGrant], now: datetime | None = None) -> dict:
    """client_id → direction ("improving", …) for the client list, in two queries for any number of clients.

    The same verdict as the client's trend report (`trend_for_client`, default window), computed from
    SQL weekly means of only the weeks it depends on (`insights.selectors.directions_for_users`), so
    neither the rows read nor the work per client grow with the length of a client's history."""
    return directions_for_users(users=[g.client for g in grants], now=now)


def trend_reports_for_clients(*, clients: dict, now: datetime | None = None) -> dict:
    """client_id → the trend engine's full report (default window) for many clients, in two queries.

    Used by the alert rules (reliable change, weekly distance), which need more than the list's one word.

    `trend_for_user` costs two queries per client; the list instead reads every listed client's
    check-in scores at once (and the instruments' metadata once), groups them into each client's own
    local weeks here, and runs the same engine (`trends.trend_report`) per client, so the list and
    the client page always agree. The cost is rows, not round trips: a client's whole history is
    read because the reliable-change baseline is their first two weeks."""
    now = now or timezone.now()
    if not clients:
        return {}
    rows_by_client: dict = defaultdict(list)
    # Only check-ins in the global series (an ECR-RS check-in missing a target is not), as on the client page.
    for user_id, *row in CheckIn.objects.filter(
        COMPLETE, user_id__in=list(clients), deleted_at__isnull=True, occurred_at__lte=now
    ).values_list("user_id", "occurred_at", "instrument_id", "anxiety", "avoidance", "distance_to_secure"):
        rows_by_client[user_id].append(row)
    instrument_ids = {row[1] for rows in rows_by_client.values() for row in rows}
    instruments = {
        i["id"]: i
        for i in Instrument.objects.filter(id__in=instrument_ids).values(
            "id", "code", "version", "definition__metadata"
        )
    }
    config = trend_config()
    reports = {}
    for client_id, client in clients.items():
        zone = ZoneInfo(client.timezone)
        sums: dict[tuple, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
        for occurred_at, instrument_id, anxiety, avoidance, distance in rows_by_client.get(client_id, ()):
            total = sums[(local_week_start(occurred_at, zone), instrument_id)]
            total[0] += 1
            total[1] += anxiety
            total[2] += avoidance
            total[3] += distance
        history, metadata = points_from_rows(
            {
                "week": week,
                "instrument__code": instruments[instrument_id]["code"],
                "instrument__version": instruments[instrument_id]["version"],
                "instrument__definition__metadata": instruments[instrument_id]["definition__metadata"],
                "n": n,
                "anxiety_sum": anxiety,
                "avoidance_sum": avoidance,
                "distance_sum": distance,
            }
            for (week, instrument_id), (n, anxiety, avoidance, distance) in sorted(sums.items())
        )
        current = local_week_start(now, zone)
        window = [current - WEEK * (DEFAULT_WEEKS - 1 - i) for i in range(DEFAULT_WEEKS)]
        report = trends.trend_report(
            history=[p for p in history if p.week_start <= current],
            window=window,
            episodes=(),
            families=STRATEGY_FAMILY,
            instrument_metadata=metadata,
            config=config,
        )
        reports[client_id] = report
    return reports


# --- the "since last session" digest ----------------------------------------------------------------


# Each builder is one section of the digest, registered per scope in tracker.sharing.resources.


def digest_checkins(*, grant: ShareGrant, since: datetime, now: datetime) -> dict:
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
    return {
        "new": after["n"],
        "distance_to_secure_before": before["distance"],
        "distance_to_secure_since": after["distance"],
        "distance_to_secure_change": change,
    }


def digest_regulation(*, grant: ShareGrant, since: datetime, now: datetime) -> dict:
    logs = list(
        shared_regulation_logs(grant=grant)
        .filter(occurred_at__gt=since, occurred_at__lte=now)
        .order_by("occurred_at")
        .values_list(
            "occurred_at",
            "safety_flag",
            "intensity_before",
            "intensity_after",
            "strategies",
            "reached_out",
            "recovery_minutes",
        )
    )
    # Every strategy used since the session counts here (min 1), not only the trend's >= 3.
    regulation = trends.regulation_statistics(
        [trends.Episode(*row[2:]) for row in logs], STRATEGY_FAMILY, min_strategy_episodes=1
    )
    regulation["safety_flags"] = [occurred_at for occurred_at, flagged, *_ in logs if flagged]
    return regulation


def digest_summaries(*, grant: ShareGrant, since: datetime, now: datetime) -> dict:
    weeks = shared_summaries(grant=grant).filter(computed_at__gt=since).order_by("week_start")
    return {"new_weeks": list(weeks.values_list("week_start", flat=True))}


def digest_since(*, grant: ShareGrant) -> tuple[datetime, datetime | None]:
    """Where the digest starts: the last marked session, or when the share began (and the session)."""
    last_session = last_session_at(grant=grant)
    return last_session or grant.accepted_at, last_session
