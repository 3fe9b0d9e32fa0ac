# ruff: noqa
# The weekly-summary producer as it was before issue 14 (commit 4a0937d), kept verbatim so a test can
# compare the optimised job with it on the same data. Not used by the application.
"""Weekly summaries: one `WeeklySummary` per user and local ISO week, written set-based.

How the scheduler finds work: `User.next_summary_at` (UTC, indexed) is the instant the user's current
local week ends (their next Monday 00:00 on their own clock, plus `WEEKLY_SUMMARY_DELAY_MINUTES`).
`summaries_due_job` first schedules users that have no `next_summary_at` yet, then repeatedly claims a
chunk of due users (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two schedulers never take the same
user), writes the summary of the week that ended at each user's `next_summary_at`, and moves it one
local week on. A user who is several weeks behind (the scheduler was down) is claimed once per
missing week in the same run, so no week is skipped.

Per chunk the statement count is constant (claim, check-in GROUP BY, regulation rows, stale
delete, upsert, advance) — never one query per user. Week bounds are computed in Python with
zoneinfo (DST-correct, local midnight) and shipped to the database as one JSON parameter of
`(user_id, week_start, lo, hi)` rows; the database joins it to the check-ins through the
(user, occurred_at) index and groups by (user, week, instrument code). No SQL timezone functions, so PostgreSQL and
SQLite give the same weeks, and a zone name PostgreSQL's own tz database lacks cannot break a chunk.

Decisions:
- Only weeks with at least one check-in or regulation log get a row (100k mostly idle users would
  otherwise add 5M empty rows a year). Re-running a week whose entries were all deleted since removes
  its row.
- Re-running a week writes identical content (rounded means, keys sorted) and the upsert only touches
  a row whose payload actually differs, so `computed_at` and `notified_at` of an unchanged week stay
  as they were. When a recompute (back-fill after an instrument update) does change a payload,
  `computed_at` moves but `notified_at` is kept: the user was already told the week's summary is ready,
  and a back-fill of many weeks must not turn into a burst of notifications.
- `notified_at` is the notifications issue's hook: it is NULL on every new row; the sender sets it.
- A user deleted mid-run is skipped: every statement joins `tracker_user`, so their rows simply
  do not appear, and the upsert never references a missing user.
- The regulation figures of a summary are computed in Python from one row query per chunk with
  `trends.regulation_statistics` (medians and JSON strategy lists are not portable SQL aggregates),
  which also keeps them identical to what `GET /trends/` shows.
- The payload's shape is `tracker.insights.contracts.WeeklySummaryPayload`, which every reader imports.
- Scores of different instruments are never averaged together (DESIGN §5). The GROUP BY yields one
  row per (user, week, instrument code); Python picks the week's primary instrument (most check-ins
  counted in the means; tie: the app's default instrument, then code order — see
  `primary_instrument_of_week`) and the summary's means, quadrant, `week_over_week` and `tendency`
  are that instrument's alone (`instrument` names it). `checkins` stays the week's total over all
  instruments. ECR-RS check-ins that did not answer every target (`extra_scores.partial`, as in the
  trends' `partial_checkins`) are counted in `checkins` but left out of the means.
- `week_over_week` compares the week's mean distance to secure with the SAME instrument's in the
  previous local week (no comparison when that instrument was not used then; the previous weeks ride
  along in the same check-in GROUP BY, so the statement count is unchanged); a change smaller than
  the trends' flat-slope threshold (0.05 scale points a week) counts as steady. The two-week rule of
  `tendency` likewise compares with the same instrument's previous week.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction

from tracker.common.weeks import (
    WEEK,
    iso_week_label,
    local_midnight_utc,
    local_week_bounds,
    local_week_start,
    week_start_of,
)
from tracker.entries.vocabularies import STRATEGY_FAMILY
from tracker.insights import trends
from tracker.insights.contracts import WEEKLY_SUMMARY_SCHEMA, RegulationFigures, WeeklySummaryPayload, WeekOverWeek
from tracker.models import User

PAYLOAD_SCHEMA = WEEKLY_SUMMARY_SCHEMA


@dataclass(frozen=True)
class Target:
    """One (user, local week) to (re)compute."""

    user_id: UUID
    timezone: str
    week_start: date


def chunk_size() -> int:
    return int(getattr(settings, "WEEKLY_SUMMARY_CHUNK_SIZE", 1000))


def summary_delay() -> timedelta:
    return timedelta(minutes=int(getattr(settings, "WEEKLY_SUMMARY_DELAY_MINUTES", 0)))


def next_summary_at_for(*, tz: str, now: datetime) -> datetime:
    """When the local week containing `now` ends for a user in `tz` (plus the configured delay)."""
    return local_midnight_utc(local_week_start(now, tz) + WEEK, tz) + summary_delay()


def week_due_at(*, tz: str, due_at: datetime) -> date:
    """The local week that a `next_summary_at` of `due_at` closes."""
    return local_week_start(due_at - summary_delay() - timedelta(microseconds=1), tz)


# --- SQL helpers: one JSON parameter carries a whole chunk of rows ----------------------------------


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _json_rows(alias: str, columns: dict[str, str]) -> str:
    """A FROM-clause item that expands one JSON-array parameter into rows with these columns."""
    if _postgres():
        cols = ", ".join(f"{name} {sql_type}" for name, sql_type in columns.items())
        return f"jsonb_to_recordset(%s::jsonb) AS {alias}({cols})"
    cols = ", ".join(f"json_extract(value, '$.{name}') AS {name}" for name in columns)
    return f"(SELECT {cols} FROM json_each(%s)) AS {alias}"  # noqa: S608 - fixed identifiers only


def _db_uuid(value: UUID, pg: bool) -> str:
    return str(value) if pg else value.hex  # Django stores UUIDs as 32 hex chars on SQLite


def _db_datetime(value: datetime, pg: bool) -> str:
    # SQLite compares Django's stored text form ("YYYY-MM-DD HH:MM:SS[.ffffff]", naive UTC).
    return value.isoformat() if pg else str(value.astimezone(UTC).replace(tzinfo=None))


def _ranges_param(targets: Sequence[Target]) -> str:
    pg = _postgres()
    rows = []
    for target in targets:
        lo, hi = local_week_bounds(target.week_start, target.timezone)
        rows.append(
            {
                "user_id": _db_uuid(target.user_id, pg),
                "week_start": target.week_start.isoformat(),
                "lo": _db_datetime(lo, pg),
                "hi": _db_datetime(hi, pg),
            }
        )
    return json.dumps(rows)


RANGE_COLUMNS = {"user_id": "uuid", "week_start": "date", "lo": "timestamptz", "hi": "timestamptz"}


def _as_uuid(value) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _partial_sql(alias: str) -> str:
    """SQL truth of `selectors.PARTIAL` (`extra_scores.partial` is JSON true: an ECR-RS check-in that
    did not answer every target) for the check-in table aliased `alias`. Such check-ins are counted
    but left out of the means, as in the trends' global series."""
    if _postgres():
        return f"({alias}.extra_scores -> 'partial') = 'true'::jsonb"
    return f"json_type({alias}.extra_scores, '$.partial') = 'true'"


def aggregate_checkins(targets: Sequence[Target], ranges: str | None = None) -> dict[tuple[UUID, date], dict]:
    """Check-in counts and means per (user, week, instrument code) for every target, in one GROUP BY.

    Returns, per (user, week) with check-ins: `checkins` (all of the week's check-ins, every
    instrument, partial ones included), `safety_flags`, and `instruments`: code -> {`checkins` (all),
    `counted` (those in the means: partial ECR-RS check-ins left out), `anxiety`, `avoidance`,
    `distance_to_secure` (means of the counted ones, None when none counts) and `is_default` (a
    version of the code is the app's default instrument)}. Versions of one code are averaged
    together (same items and scale); different codes never are.

    `ranges` is `_ranges_param(targets)` when the caller already built it."""
    if not targets:
        return {}
    partial = _partial_sql("c")
    complete = f"CASE WHEN {partial} THEN NULL ELSE 1 END"
    sql = f"""
        SELECT w.user_id, w.week_start, i.code, MAX(CASE WHEN i.is_default THEN 1 ELSE 0 END), COUNT(*),
               COUNT({complete}),
               AVG(CASE WHEN {partial} THEN NULL ELSE c.anxiety END),
               AVG(CASE WHEN {partial} THEN NULL ELSE c.avoidance END),
               AVG(CASE WHEN {partial} THEN NULL ELSE c.distance_to_secure END),
               SUM(CASE WHEN c.safety_flag THEN 1 ELSE 0 END)
        FROM {_json_rows("w", RANGE_COLUMNS)}
        JOIN tracker_checkin c ON c.user_id = w.user_id AND c.occurred_at >= w.lo AND c.occurred_at < w.hi
        JOIN tracker_user u ON u.id = c.user_id
        JOIN tracker_instrument i ON i.id = c.instrument_id
        WHERE c.deleted_at IS NULL
        GROUP BY w.user_id, w.week_start, i.code
    """  # noqa: S608 - only fixed identifiers are interpolated; the data is one bound parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, [ranges or _ranges_param(targets)])
        rows = cursor.fetchall()
    weeks: dict[tuple[UUID, date], dict] = {}
    for user_id, week, code, is_default, n, counted, anxiety, avoidance, distance, flags in rows:
        entry = weeks.setdefault(
            (_as_uuid(user_id), _as_date(week)), {"checkins": 0, "safety_flags": 0, "instruments": {}}
        )
        entry["checkins"] += int(n)
        entry["safety_flags"] += int(flags or 0)
        counted = int(counted or 0)
        entry["instruments"][str(code)] = {
            "checkins": int(n),
            "counted": counted,
            "anxiety": float(anxiety) if counted else None,
            "avoidance": float(avoidance) if counted else None,
            "distance_to_secure": float(distance) if counted else None,
            "is_default": bool(is_default),
        }
    return weeks


def primary_instrument_of_week(week: dict | None) -> str | None:
    """The instrument code whose figures stand for the week (`week`: an `aggregate_checkins` entry).

    The one with the most check-ins counted in the means that week (partial ECR-RS check-ins do not
    count: they carry no global score). Ties go to the app's default instrument (`Instrument.is_default`:
    there is no per-user default; it is what a check-in naming no instrument uses), then to code order.
    The choice depends on that week alone, so a recompute in any batch gives the same payload.
    None when no check-in of the week has figures."""
    candidates = [
        (code, figures) for code, figures in ((week or {}).get("instruments") or {}).items() if figures["counted"]
    ]
    if not candidates:
        return None
    code, _ = min(candidates, key=lambda item: (-item[1]["counted"], not item[1]["is_default"], item[0]))
    return code


def _figures(week: dict | None, code: str | None) -> dict | None:
    """One instrument's means in a week (None when that instrument has no counted check-in then)."""
    if week is None or code is None:
        return None
    figures = (week.get("instruments") or {}).get(code)
    return figures if figures and figures["counted"] else None


def regulation_episodes(
    targets: Sequence[Target], ranges: str | None = None
) -> dict[tuple[UUID, date], list[trends.Episode]]:
    """The scored columns of every live regulation log in the targets' weeks, in one query."""
    if not targets:
        return {}
    sql = f"""
        SELECT w.user_id, w.week_start, r.intensity_before, r.intensity_after, r.strategies, r.reached_out,
               r.recovery_minutes, r.safety_flag
        FROM {_json_rows("w", RANGE_COLUMNS)}
        JOIN tracker_regulationlog r ON r.user_id = w.user_id AND r.occurred_at >= w.lo AND r.occurred_at < w.hi
        JOIN tracker_user u ON u.id = r.user_id
        WHERE r.deleted_at IS NULL
    """  # noqa: S608 - only fixed identifiers are interpolated; the data is one bound parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, [ranges or _ranges_param(targets)])
        rows = cursor.fetchall()
    episodes: dict[tuple[UUID, date], list[trends.Episode]] = defaultdict(list)
    for user_id, week, before, after, strategies, reached_out, recovery, flagged in rows:
        if isinstance(strategies, str):
            strategies = json.loads(strategies)
        episodes[(_as_uuid(user_id), _as_date(week))].append(
            trends.Episode(
                intensity_before=before,
                intensity_after=after,
                strategies=strategies if isinstance(strategies, list) else [],
                reached_out=None if reached_out is None else bool(reached_out),
                recovery_minutes=recovery,
                safety_flag=bool(flagged),
            )
        )
    return episodes


def week_over_week(checkins: dict | None, previous: dict | None) -> tuple[float | None, WeekOverWeek]:
    """This week's mean distance to secure minus the previous week's, and what that change means.

    Both are one instrument's figures (the same instrument's, see `summary_payload`)."""
    if not checkins or not previous:
        return None, "no_comparison"
    change = trends._round(checkins["distance_to_secure"] - previous["distance_to_secure"])
    flat = trends.DEFAULT_CONFIG.flat_slope_per_week
    if change < -flat:
        return change, "closer_to_secure"
    if change > flat:
        return change, "further_from_secure"
    return change, "steady"


def summary_payload(
    *,
    week_start: date,
    checkins: dict | None,
    episodes: Iterable[trends.Episode],
    cut: float,
    regulation: RegulationFigures | None = None,
    previous: dict | None = None,
) -> WeeklySummaryPayload:
    """The stored JSON of one week (`checkins`, `previous`: this and the previous week's
    `aggregate_checkins` entries).

    Scores of different instruments are never averaged together (DESIGN §5): the means, quadrant,
    week-over-week change and settled tendency are those of the week's primary instrument
    (`primary_instrument_of_week`), compared with the SAME instrument's figures in the previous week (no
    comparison, no tendency when it was not used then). `checkins` stays the week's total."""
    code = primary_instrument_of_week(checkins)
    figures = _figures(checkins, code)
    before = _figures(previous, code)
    distance_change, direction = week_over_week(figures, before)
    episodes = list(episodes)
    safety_flags = sum(1 for e in episodes if e.safety_flag) + int((checkins or {}).get("safety_flags", 0))
    count = int((checkins or {}).get("checkins", 0))
    tendency = None
    if figures:
        point = trends.WeeklyPoint(week_start=week_start, **_means(figures))
        core = trends.weekly_point_payload(point, cut)
        anxiety, avoidance, distance = core["anxiety"], core["avoidance"], core["distance_to_secure"]
        quadrant = core["quadrant"]
        # The two-week rule: a tendency is named only when the previous week fell in the same quadrant.
        if before:
            tendency = (
                quadrant if trends.quadrant_label(before["anxiety"], before["avoidance"], cut) == quadrant else None
            )
    else:
        anxiety = avoidance = distance = quadrant = None
    year, week, _ = week_start.isocalendar()
    return WeeklySummaryPayload(
        schema=PAYLOAD_SCHEMA,
        week_start=week_start.isoformat(),
        week=iso_week_label(week_start),
        iso_year=year,
        iso_week=week,
        checkins=count,
        instrument=code,
        anxiety=anxiety,
        avoidance=avoidance,
        distance_to_secure=distance,
        quadrant=quadrant,
        quadrant_cut=cut,
        distance_change=distance_change,
        week_over_week=direction,
        tendency=tendency,
        safety_flags=safety_flags,
        regulation=regulation or trends.regulation_statistics(episodes, STRATEGY_FAMILY),
    )


def _means(figures: dict) -> dict:
    return {
        "checkins": figures["counted"],
        **{k: figures[k] for k in ("anxiety", "avoidance", "distance_to_secure")},
    }


def _delete_summaries(keys: Sequence[tuple[UUID, date]]) -> None:
    if not keys:
        return
    pg = _postgres()
    param = json.dumps([{"user_id": _db_uuid(u, pg), "week_start": w.isoformat()} for u, w in keys])
    sql = f"""
        DELETE FROM tracker_weeklysummary WHERE id IN (
            SELECT s.id FROM tracker_weeklysummary s
            JOIN {_json_rows("k", {"user_id": "uuid", "week_start": "date"})}
              ON s.user_id = k.user_id AND s.week_start = k.week_start
        )
    """  # noqa: S608 - only fixed identifiers are interpolated; the data is one bound parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, [param])


def _upsert_summaries(rows: Sequence[tuple[UUID, date, dict]], *, computed_at: datetime) -> None:
    """INSERT … ON CONFLICT (user, week) DO UPDATE, touching only rows whose payload changed."""
    if not rows:
        return
    pg = _postgres()
    param = json.dumps(
        [
            {
                "user_id": _db_uuid(user_id, pg),
                "week_start": week.isoformat(),
                "iso_year": week.isocalendar()[0],
                "iso_week": week.isocalendar()[1],
                "payload": payload,
            }
            for user_id, week, payload in rows
        ],
        sort_keys=True,
    )
    columns = {"user_id": "uuid", "week_start": "date", "iso_year": "int", "iso_week": "int", "payload": "jsonb"}
    changed = "IS DISTINCT FROM" if _postgres() else "IS NOT"
    # SQLite needs the WHERE after INSERT … SELECT … JOIN to parse the ON CONFLICT clause.
    sql = f"""
        INSERT INTO tracker_weeklysummary (user_id, week_start, iso_year, iso_week, payload, computed_at, notified_at)
        SELECT v.user_id, v.week_start, v.iso_year, v.iso_week, v.payload, %s, NULL
        FROM {_json_rows("v", columns)}
        JOIN tracker_user u ON u.id = v.user_id
        WHERE TRUE
        ON CONFLICT (user_id, week_start) DO UPDATE SET
            payload = excluded.payload,
            iso_year = excluded.iso_year,
            iso_week = excluded.iso_week,
            computed_at = excluded.computed_at
        WHERE tracker_weeklysummary.payload {changed} excluded.payload
    """  # noqa: S608 - only fixed identifiers are interpolated; the data is bound parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [_db_datetime(computed_at, pg), param])


def write_summaries(targets: Sequence[Target], *, computed_at: datetime) -> int:
    """Compute and store the summaries of these (user, week) targets; returns rows written or kept.

    Constant number of statements whatever the number of targets (call it with one chunk)."""
    if not targets:
        return 0
    cut = settings.QUADRANT_CUT
    ranges = _ranges_param(targets)
    # The previous local week of every target rides along in the same GROUP BY (for week_over_week).
    wanted = {(t.user_id, t.week_start) for t in targets}
    previous_weeks = {
        (t.user_id, t.week_start - WEEK): Target(t.user_id, t.timezone, t.week_start - WEEK) for t in targets
    }
    with_previous = [*targets, *(t for key, t in previous_weeks.items() if key not in wanted)]
    checkins = aggregate_checkins(with_previous)
    episodes = regulation_episodes(targets, ranges)
    no_episodes = trends.regulation_statistics((), STRATEGY_FAMILY)  # most weeks: computed once
    rows, empty = [], []
    for target in targets:
        key = (target.user_id, target.week_start)
        if key in checkins or key in episodes:
            payload = summary_payload(
                week_start=target.week_start,
                checkins=checkins.get(key),
                episodes=episodes.get(key, ()),
                cut=cut,
                regulation=None if key in episodes else no_episodes,
                previous=checkins.get((target.user_id, target.week_start - WEEK)),
            )
            rows.append((target.user_id, target.week_start, payload))
        else:
            empty.append(key)
    _delete_summaries(empty)
    _upsert_summaries(rows, computed_at=computed_at)
    return len(rows)


# --- The scheduler job --------------------------------------------------------------------------------


def _set_next_summary_at(values: Sequence[tuple[UUID, datetime]]) -> None:
    if not values:
        return
    pg = _postgres()
    param = json.dumps([{"id": _db_uuid(user_id, pg), "next": _db_datetime(at, pg)} for user_id, at in values])
    sql = f"""
        UPDATE tracker_user SET next_summary_at = v.next
        FROM {_json_rows("v", {"id": "uuid", "next": "timestamptz"})}
        WHERE tracker_user.id = v.id
    """  # noqa: S608 - only fixed identifiers are interpolated; the data is one bound parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, [param])


def schedule_unscheduled_users(*, now: datetime, chunk: int | None = None) -> int:
    """Give every active user without `next_summary_at` the end of their current local week."""
    chunk = chunk or chunk_size()
    scheduled = 0
    while True:
        with transaction.atomic():
            users = list(
                User.objects.filter(next_summary_at__isnull=True, is_active=True)
                .select_for_update(skip_locked=True)
                .values_list("id", "timezone")[:chunk]
            )
            if not users:
                return scheduled
            _set_next_summary_at([(user_id, next_summary_at_for(tz=tz, now=now)) for user_id, tz in users])
        scheduled += len(users)


def _claim_due(*, now: datetime, chunk: int) -> list[tuple[UUID, str, datetime]]:
    return list(
        User.objects.filter(next_summary_at__lte=now, is_active=True)
        .order_by("next_summary_at")
        .select_for_update(skip_locked=True)
        .values_list("id", "timezone", "next_summary_at")[:chunk]
    )


def summaries_due_job(*, now: datetime, chunk: int | None = None) -> int:
    """Scheduler job: write the weekly summary of every user whose local week has ended.

    Returns the number of (user, week) claims processed. Each chunk is one transaction."""
    chunk = chunk or chunk_size()
    schedule_unscheduled_users(now=now, chunk=chunk)
    processed = 0
    while True:
        with transaction.atomic():
            claimed = _claim_due(now=now, chunk=chunk)
            if not claimed:
                return processed
            targets = [Target(user_id, tz, week_due_at(tz=tz, due_at=due_at)) for user_id, tz, due_at in claimed]
            write_summaries(targets, computed_at=now)
            _set_next_summary_at(
                [
                    (
                        target.user_id,
                        local_midnight_utc(target.week_start + WEEK * 2, target.timezone) + summary_delay(),
                    )
                    for target in targets
                ]
            )
        processed += len(claimed)


def reset_summary_schedule(*, user: User) -> None:
    """After a timezone change: the job reschedules the user to the end of their new local week."""
    user.next_summary_at = None


# --- Back-fills -------------------------------------------------------------------------------------


def recompute_summaries(
    *,
    start: date,
    end: date,
    now: datetime,
    chunk: int | None = None,
    weeks_per_batch: int = 13,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Recompute every user's summaries for the local weeks overlapping [start, end] (back-fills).

    Users are walked in chunks by id (keyset), weeks in batches of a quarter, so each statement
    carries at most `chunk x weeks_per_batch` ranges. Returns the number of summaries written."""
    chunk = chunk or chunk_size()
    first, last = week_start_of(start), week_start_of(end)
    week_starts = []
    week = first
    while week <= last:
        week_starts.append(week)
        week += WEEK
    total_users = User.objects.count()
    done_users = written = 0
    after: UUID | None = None
    while True:
        page = User.objects.order_by("id")
        if after is not None:
            page = page.filter(id__gt=after)
        users = list(page.values_list("id", "timezone")[:chunk])
        if not users:
            break
        for i in range(0, len(week_starts), weeks_per_batch):
            batch = week_starts[i : i + weeks_per_batch]
            with transaction.atomic():
                written += write_summaries(
                    [Target(user_id, tz, week) for user_id, tz in users for week in batch], computed_at=now
                )
        after = users[-1][0]
        done_users += len(users)
        if progress:
            progress(done_users, total_users)
    return written
