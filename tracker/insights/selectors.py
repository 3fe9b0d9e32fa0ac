"""Reads behind `GET /trends/`: one user's weekly aggregates and regulation episodes, in two queries.

1. The check-ins of the user's whole history up to the end of the window, grouped in SQL by local
   ISO week (Django's `Trunc(..., tzinfo=)`: `AT TIME ZONE` on PostgreSQL, zoneinfo inside SQLite's
   `django_date_trunc`, so weeks are cut at the user's own midnight on both, DST included) and by
   instrument (for the SD and r of the RCI). A year of history is ≤ 53 rows per instrument. A scalar
   subquery on it counts the nudge slots in the window, for adherence (`tracker.insights.prompts`).
2. The regulation logs inside the window (a JSON list of strategies and a median are not portable
   SQL aggregates, and a window holds at most a few hundred episodes).

The number of weeks requested only changes the window, never the number of queries. A user who used
an instrument scored per relationship target (ECR-RS) costs one more: that instrument's check-ins in
the window, whose per-target scores (JSON) are averaged per local week here.

ECR-RS check-ins that did not answer every target (`extra_scores.partial`) are counted but left out of
the instrument's global series: the global score is the mean over all targets."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Count, DateField, F, Q, Sum
from django.db.models.functions import Coalesce, Trunc
from django.utils import timezone

from tracker.common.sql import LocalWeekStart
from tracker.common.weeks import WEEK, local_midnight_utc, local_week_start
from tracker.entries.vocabularies import STRATEGY_FAMILY
from tracker.insights import trends
from tracker.insights.prompts import prompts_asked_subquery
from tracker.models import CheckIn, Instrument, RegulationLog

# Check-ins whose headline score is not the instrument's global score (ECR-RS with a target missing).
PARTIAL = Q(extra_scores__partial=True)
COMPLETE = Q(extra_scores__partial=False) | ~Q(extra_scores__has_key="partial")

MAX_WEEKS = 104
DEFAULT_WEEKS = 12


def trend_config() -> trends.TrendConfig:
    return trends.TrendConfig(quadrant_cut=settings.QUADRANT_CUT)


def adherence_for_user(*, checkins_done: int, nudges_asked: int | None) -> dict:
    """Check-ins done in the window / check-ins the reminder schedule asked for in it.

    `nudges_asked` is None when the user has no check-ins at all (the count rides on the check-in
    query, which then returns no rows); that is reported as such rather than guessed."""
    if nudges_asked is None:
        return trends.adherence(done=checkins_done, asked=None, reason="no check-ins yet")
    return trends.adherence(done=checkins_done, asked=nudges_asked)


def weekly_history(
    *, user, until: datetime, asked_since: datetime | None = None
) -> tuple[list[trends.WeeklyPoint], dict[str, dict | None], int | None, list[dict]]:
    """Every local week with check-ins before `until`, oldest first, the metadata of the
    instruments used and, with `asked_since`, the nudge slots in [asked_since, until) (one query)."""
    zone = ZoneInfo(user.timezone)
    rows = (
        CheckIn.objects.filter(user=user, deleted_at__isnull=True, occurred_at__lt=until)
        .annotate(week=Trunc("occurred_at", "week", output_field=DateField(), tzinfo=zone))
        .values(
            "week",
            "instrument__code",
            "instrument__version",
            "instrument__definition__metadata",
            "instrument__definition__targets",
        )
        .annotate(
            n=Count("id", filter=COMPLETE),
            partial=Count("id", filter=PARTIAL),
            anxiety_sum=Sum("anxiety", filter=COMPLETE),
            avoidance_sum=Sum("avoidance", filter=COMPLETE),
            distance_sum=Sum("distance_to_secure", filter=COMPLETE),
        )
        .order_by("week")
    )
    asked = prompts_asked_subquery(user=user, start=asked_since, end=until) if asked_since is not None else None
    if asked is not None:
        rows = rows.annotate(nudges_asked=Coalesce(asked, 0))
    rows = list(rows)
    nudges_asked = rows[0]["nudges_asked"] if rows and asked is not None else None
    return (*points_from_rows(rows), nudges_asked, rows)


def _key(row) -> str:
    return f"{row['instrument__code']}:{row['instrument__version']}"


def _week(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def points_from_rows(rows) -> tuple[list[trends.WeeklyPoint], dict[str, dict | None]]:
    """One weekly point per (week, instrument): scores of different instruments are never averaged.

    A row counts `n` check-ins in the global means (a week with none has no point)."""
    totals: dict[tuple[date, str], list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
    metadata: dict[str, dict | None] = {}
    for row in rows:
        week = _week(row["week"])
        key = _key(row)
        metadata[key] = row["instrument__definition__metadata"]
        if not row["n"]:
            continue
        total = totals[(week, key)]
        total[0] += row["n"]
        total[1] += row["anxiety_sum"]
        total[2] += row["avoidance_sum"]
        total[3] += row["distance_sum"]
    points = [
        trends.WeeklyPoint(
            week_start=week,
            checkins=int(n),
            anxiety=anxiety / n,
            avoidance=avoidance / n,
            distance_to_secure=distance / n,
            instruments={key: int(n)},
        )
        for (week, key), (n, anxiety, avoidance, distance) in sorted(totals.items())
    ]
    return points, metadata


def target_series_for_user(*, user, rows, since: datetime, until: datetime) -> dict[str, trends.TargetSeries]:
    """The per-target weekly series of the per-target instruments among `rows` (the weekly history's
    rows), over the check-ins in [since, until): one query, none when no such instrument was used."""
    targets = {_key(row): tuple(row["instrument__definition__targets"] or ()) for row in rows}
    targets = {key: names for key, names in targets.items() if names}
    if not targets:
        return {}
    partial: dict[str, dict[date, int]] = defaultdict(dict)
    for row in rows:
        if _key(row) in targets and row.get("partial"):
            partial[_key(row)][_week(row["week"])] = row["partial"]
    zone = ZoneInfo(user.timezone)
    # (instrument, target, week) -> [check-ins, anxiety, avoidance, distance]
    sums: dict[tuple[str, str, date], list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
    codes = Q()
    for key in targets:
        code, _, version = key.partition(":")
        codes |= Q(instrument__code=code, instrument__version=int(version))
    for occurred_at, code, version, extra in CheckIn.objects.filter(
        codes, user=user, deleted_at__isnull=True, occurred_at__gte=since, occurred_at__lt=until
    ).values_list("occurred_at", "instrument__code", "instrument__version", "extra_scores"):
        week = local_week_start(occurred_at, zone)
        for target, scores in ((extra or {}).get("targets") or {}).items():
            total = sums[(f"{code}:{version}", target, week)]
            total[0] += 1
            total[1] += scores["anxiety"]
            total[2] += scores["avoidance"]
            total[3] += scores["distance_to_secure"]
    points: dict[str, dict[str, list[trends.WeeklyPoint]]] = defaultdict(lambda: defaultdict(list))
    for (key, target, week), (n, anxiety, avoidance, distance) in sorted(sums.items()):
        points[key][target].append(
            trends.WeeklyPoint(
                week_start=week,
                checkins=int(n),
                anxiety=anxiety / n,
                avoidance=avoidance / n,
                distance_to_secure=distance / n,
                instruments={key: int(n)},
            )
        )
    return {
        key: trends.TargetSeries(targets=names, points=dict(points.get(key, {})), partial=dict(partial.get(key, {})))
        for key, names in targets.items()
    }


def trend_for_user(
    *, user, weeks: int = DEFAULT_WEEKS, now: datetime | None = None, instrument: str | None = None
) -> dict:
    """The JSON-ready body of `GET /api/v1/trends/?weeks=N` (also used by the therapist dashboard).

    The window is the last `weeks` local ISO weeks *including the current, unfinished one* (so a
    check-in made today shows at once). At most two queries, whatever `weeks`."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"weeks must be between 1 and {MAX_WEEKS}")
    now = now or timezone.now()
    zone = ZoneInfo(user.timezone)
    current = local_week_start(now, zone)
    window = [current - WEEK * (weeks - 1 - i) for i in range(weeks)]
    window_lo = local_midnight_utc(window[0], zone)
    window_hi = local_midnight_utc(current + WEEK, zone)

    history, metadata, nudges_asked, rows = weekly_history(user=user, until=window_hi, asked_since=window_lo)
    target_series = target_series_for_user(user=user, rows=rows, since=window_lo, until=window_hi)
    episodes = [
        trends.Episode(*row)
        for row in RegulationLog.objects.filter(
            user=user, deleted_at__isnull=True, occurred_at__gte=window_lo, occurred_at__lt=window_hi
        ).values_list("intensity_before", "intensity_after", "strategies", "reached_out", "recovery_minutes")
    ]
    config = trend_config()
    report = trends.trend_report(
        history=history,
        window=window,
        episodes=episodes,
        families=STRATEGY_FAMILY,
        instrument_metadata=metadata,
        config=config,
        instrument=instrument,
        target_series=target_series,
    )
    # Adherence counts every check-in, whatever instrument it used (partial ones too).
    done = sum(
        section["checkins"] + section["partial_checkins"]
        for section in (report["instrument"], *report["other_instruments"])
    )
    report["adherence"] = adherence_for_user(checkins_done=done, nudges_asked=nudges_asked)
    report["metadata"] = {
        **trends.report_metadata(config),
        "weeks_requested": weeks,
        "timezone": user.timezone,
        "window_start": window[0].isoformat(),
        "window_end": (current + WEEK).isoformat(),
        "current_week_included": True,
        "generated_at": now.isoformat(),
    }
    return report


def directions_for_users(*, users, now: datetime | None = None) -> dict:
    """user id → the direction word of each user's default trend report (`trend_for_user` with
    `DEFAULT_WEEKS`), for the therapist's client list, in two queries whatever the number of users.

    The direction needs per instrument only the user's first two weeks with check-ins (the reliable
    change baseline), the weeks of the window and the total check-ins (to pick the primary
    instrument) — see `trends.trend_direction`. One statement groups every listed user's check-ins
    by (user, local ISO week in *that user's* timezone, instrument) and keeps just those rows (a
    window function numbers each user's weeks per instrument), so the rows read and the Python work
    per user are bounded by the window, not by the length of their history; a second one reads the
    metadata of the instruments met. Check-ins after `now` are left out, as the list always did."""
    now = now or timezone.now()
    users = {user.pk: user for user in users}
    if not users:
        return {}
    windows = {}
    for user in users.values():
        current = local_week_start(now, ZoneInfo(user.timezone))
        windows[user.pk] = [current - WEEK * (DEFAULT_WEEKS - 1 - i) for i in range(DEFAULT_WEEKS)]
    earliest = min(window[0] for window in windows.values())
    grouped = (
        CheckIn.objects.filter(COMPLETE, user_id__in=list(users), deleted_at__isnull=True, occurred_at__lte=now)
        .annotate(week=LocalWeekStart("occurred_at", F("user__timezone")))
        .values("user_id", "week", "instrument_id")
        .annotate(
            n=Count("id"),
            anxiety_sum=Sum("anxiety"),
            avoidance_sum=Sum("avoidance"),
            distance_sum=Sum("distance_to_secure"),
        )
        .order_by()
    )
    inner, params = grouped.query.sql_with_params()
    # Window functions over the grouped rows (PostgreSQL and SQLite >= 3.25 both have them); the ORM
    # cannot filter on a window function disjunctively after an aggregation, so the outer SELECT is SQL.
    sql = f"""
        SELECT user_id, week, instrument_id, n, anxiety_sum, avoidance_sum, distance_sum, total FROM (
            SELECT g.*, ROW_NUMBER() OVER (PARTITION BY user_id, instrument_id ORDER BY week) AS nth,
                   SUM(n) OVER (PARTITION BY user_id, instrument_id) AS total
            FROM ({inner}) g
        ) ranked
        WHERE nth <= 2 OR week >= %s
        ORDER BY user_id, instrument_id, week
    """  # noqa: S608 - only the ORM's own compiled SQL is interpolated
    with connection.cursor() as cursor:
        cursor.execute(sql, (*params, connection.ops.adapt_datefield_value(earliest)))
        rows = cursor.fetchall()
    instruments = {
        pk: (f"{code}:{version}", metadata)
        for pk, code, version, metadata in Instrument.objects.filter(id__in={row[2] for row in rows}).values_list(
            "id", "code", "version", "definition__metadata"
        )
    }
    history: dict = defaultdict(list)
    totals: dict = defaultdict(dict)
    for user_id, week, instrument_id, n, anxiety, avoidance, distance, total in rows:
        user_id = uuid.UUID(str(user_id))  # SQLite hands raw UUID columns back as hex text
        key = instruments[instrument_id][0]
        week = week if isinstance(week, date) else date.fromisoformat(str(week)[:10])  # SQLite: text
        history[user_id].append(
            trends.WeeklyPoint(
                week_start=week,
                checkins=int(n),
                anxiety=anxiety / n,
                avoidance=avoidance / n,
                distance_to_secure=distance / n,
                instruments={key: int(n)},
            )
        )
        totals[user_id][key] = int(total)
    psychometrics = {key: trends.psychometrics_from_metadata(metadata) for key, metadata in instruments.values()}
    config = trend_config()
    return {
        pk: trends.trend_direction(
            history=history.get(pk, []),
            window=windows[pk],
            psychometrics=psychometrics,
            checkins_total=totals.get(pk, {}),
            config=config,
        )["value"]
        for pk in users
    }
