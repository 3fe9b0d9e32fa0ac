"""Benchmark: the weekly-summary job against a floor of one hand-written SQL GROUP BY.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/securebase python -m bench.summaries [--users 100000]

Creates a scratch database (`<name>_bench`, migrated, dropped afterwards unless --keep), fills it
with synthetic users spread over five timezones and their check-ins and regulation logs using bulk
`INSERT … SELECT generate_series` (no Python loop per row), then times:

- the floor: one `GROUP BY user, local week` over the same check-ins, every row fetched;
- `summaries_due_job` for every user (first run: writes every summary), and a re-run of the same
  week (content identical, so nothing is written);

and prints the ratio job / floor. The job does more than the floor (claiming with FOR UPDATE SKIP
LOCKED, regulation figures, the upsert, advancing next_summary_at), so a ratio of a few is expected;
what matters is that it stays a small constant as the number of users grows."""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

TIMEZONES = ["Pacific/Auckland", "America/Los_Angeles", "Asia/Kolkata", "Europe/Berlin", "UTC"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--checkins-per-user", type=int, default=3, help="In the summarised week.")
    parser.add_argument("--history-weeks", type=int, default=4, help="Earlier weeks with check-ins too.")
    parser.add_argument("--log-share", type=float, default=0.3, help="Share of users with a regulation log.")
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--floor-runs", type=int, default=3, help="Alternating floor/job rounds (medians).")
    parser.add_argument("--keep", action="store_true", help="Keep the scratch database.")
    parser.add_argument("--profile", action="store_true", help="Print the time spent per SQL statement.")
    parser.add_argument("--cprofile", action="store_true", help="Profile the Python side of the first run.")
    return parser.parse_args(argv)


def populate(cursor, *, users: int, per_user: int, history_weeks: int, log_share: float, week: date) -> dict:
    tz_array = "ARRAY[" + ",".join(f"'{tz}'" for tz in TIMEZONES) + "]"
    cursor.execute(
        f"""
        INSERT INTO tracker_user (id, password, is_superuser, email, display_name, role, timezone,
                                  locale, country, is_active, is_staff, date_joined)
        SELECT gen_random_uuid(), '!', false, 'bench' || g || '@example.test', '', 'client',
               ({tz_array})[1 + g %% {len(TIMEZONES)}], 'en', '', true, false, now()
        FROM generate_series(1, %s) AS g
        """,
        [users],
    )
    cursor.execute(
        """
        INSERT INTO tracker_instrument (code, version, title, definition, is_default, created_at)
        VALUES ('bench', 1, 'Bench', '{"metadata": {"anxiety": {"sd": 1, "r": 0.9}}}', true, now())
        RETURNING id
        """
    )
    instrument_id = cursor.fetchone()[0]
    # Wednesday 12:00 UTC +- 30 h is inside the same local ISO week in every zone used here.
    wednesday = datetime.combine(week + timedelta(days=2), datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    cursor.execute(
        """
        INSERT INTO tracker_checkin (id, user_id, occurred_at, utc_offset_minutes, note, created_at, updated_at,
                                     deleted_at, instrument_id, responses, anxiety, avoidance, self_model,
                                     other_model, distance_to_secure, quadrant, extra_scores, safety_flag,
                                     safety_reason, revision, change_seq)
        SELECT gen_random_uuid(), u.id,
               %s::timestamptz - make_interval(weeks => w) + make_interval(secs => (random() - 0.5) * 216000),
               0, '', now(), now(), NULL, %s, '[]'::jsonb, s.a, s.v, 8 - s.a, 8 - s.v,
               sqrt(power(greatest(0, s.v - 4), 2) + power(greatest(0, s.a - 4), 2)),
               CASE WHEN s.a >= 4 AND s.v >= 4 THEN 'fearful' WHEN s.a >= 4 THEN 'preoccupied'
                    WHEN s.v >= 4 THEN 'dismissing' ELSE 'secure' END,
               '{}'::jsonb, false, '', 1, w * 1000 + k
        FROM tracker_user u
        CROSS JOIN generate_series(0, %s) AS w
        CROSS JOIN generate_series(1, %s) AS k
        CROSS JOIN LATERAL (SELECT 1 + random() * 6 + 0 * k AS a, 1 + random() * 6 + 0 * w AS v) AS s
        """,
        [wednesday, instrument_id, history_weeks, per_user],
    )
    cursor.execute(
        """
        INSERT INTO tracker_regulationlog (id, user_id, occurred_at, utc_offset_minutes, note, created_at, updated_at,
                                           deleted_at, trigger, trigger_target, emotions, intensity_before,
                                           intensity_after, strategies, reached_out, reached_out_helped,
                                           recovery_minutes, safety_flag, safety_reason, revision, change_seq)
        SELECT gen_random_uuid(), u.id, %s::timestamptz, 0, '', now(), now(), NULL, 'conflict', '', '[]'::jsonb,
               7, 3, '["breathing", "worry"]'::jsonb, random() < 0.5, NULL, (random() * 60)::int, false, '', 1, 1
        FROM tracker_user u WHERE random() < %s
        """,
        [wednesday, log_share],
    )
    # As the API leaves it: every user with entries has a change-feed counter at their last position.
    cursor.execute(
        """
        INSERT INTO tracker_changecounter (user_id, last_seq)
        SELECT user_id, max(change_seq) FROM (
            SELECT user_id, change_seq FROM tracker_checkin
            UNION ALL SELECT user_id, change_seq FROM tracker_regulationlog
        ) e GROUP BY user_id
        """
    )
    cursor.execute("ANALYZE tracker_user; ANALYZE tracker_checkin; ANALYZE tracker_regulationlog")
    cursor.execute("SELECT (SELECT count(*) FROM tracker_checkin), (SELECT count(*) FROM tracker_regulationlog)")
    checkins, logs = cursor.fetchone()
    return {"checkins": checkins, "logs": logs}


@contextlib.contextmanager
def _profile(enabled: bool):
    """Time spent in the database per statement shape (the rest of the job is Python)."""
    if not enabled:
        yield
        return
    from django.db import connection

    spent: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

    def wrapper(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            entry = spent[" ".join(sql.split())[:60]]
            entry[0] += 1
            entry[1] += time.perf_counter() - began

    with connection.execute_wrapper(wrapper):
        yield
    for shape, (count, seconds) in sorted(spent.items(), key=lambda item: -item[1][1]):
        print(f"    {seconds:8.3f}s {count:5d}x  {shape}")


# Writes the same (user, local week) rows as the job, each with the week's check-in count and means
# in its payload. It does LESS than the job (a lower bound): no regulation figures, no primary-
# instrument / week-over-week / tendency rules, no claiming; the bench says so in its note.
FLOOR_SQL = """
    INSERT INTO tracker_weeklysummary (user_id, week_start, iso_year, iso_week, payload, computed_at, notified_at)
    SELECT g.user_id, g.week, extract(isoyear FROM g.week)::int, extract(week FROM g.week)::int,
           jsonb_build_object('week_start', g.week, 'checkins', g.n, 'anxiety', round(g.a::numeric, 4),
                              'avoidance', round(g.v::numeric, 4), 'distance_to_secure', round(g.d::numeric, 4)),
           %s, NULL
    FROM (
        SELECT c.user_id, (date_trunc('week', c.occurred_at AT TIME ZONE u.timezone))::date AS week,
               count(*) AS n, avg(c.anxiety) AS a, avg(c.avoidance) AS v, avg(c.distance_to_secure) AS d
        FROM tracker_checkin c JOIN tracker_user u ON u.id = c.user_id
        WHERE c.deleted_at IS NULL AND c.occurred_at >= %s AND c.occurred_at < %s
        GROUP BY 1, 2
    ) g
    WHERE g.week = DATE '2026-03-02'
"""


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        print("bench.summaries needs PostgreSQL: set DATABASE_URL=postgres://…", file=sys.stderr)
        return 2

    from tracker.common.weeks import WEEK
    from tracker.insights.services import schedule_unscheduled_users, summaries_due_job

    connection.settings_dict.setdefault("TEST", {})["NAME"] = connection.settings_dict["NAME"] + "_bench"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        week = date(2026, 3, 2)
        began = time.perf_counter()
        with connection.cursor() as cursor:
            counts = populate(
                cursor,
                users=args.users,
                per_user=args.checkins_per_user,
                history_weeks=args.history_weeks,
                log_share=args.log_share,
                week=week,
            )
        print(
            f"populated {args.users} users, {counts['checkins']} check-ins, {counts['logs']} logs "
            f"in {time.perf_counter() - began:.1f}s"
        )

        scheduled_at = datetime(2026, 3, 4, 12, tzinfo=UTC)
        due_now = datetime(2026, 3, 9, 12, tzinfo=UTC)  # every zone's week of 2 March has ended
        # The floor covers exactly the UTC span of the summarised local weeks in every zone.
        lo = datetime(2026, 3, 1, 10, tzinfo=UTC)  # Auckland's Monday 2 March 00:00 (+13)
        hi = datetime(2026, 3, 9, 8, tzinfo=UTC)  # Los Angeles' Monday 9 March 00:00 (-7, after DST)

        def reset() -> None:
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM tracker_weeklysummary")
                cursor.execute("UPDATE tracker_user SET next_summary_at = NULL")
            schedule_unscheduled_users(now=scheduled_at, chunk=args.chunk)
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE tracker_weeklysummary")
                cursor.execute("VACUUM ANALYZE tracker_user")

        def written_keys() -> set:
            with connection.cursor() as cursor:
                cursor.execute("SELECT user_id, week_start, payload ->> 'checkins' FROM tracker_weeklysummary")
                return set(cursor.fetchall())

        floors, jobs, reruns = [], [], []
        processed = written = 0
        for round_no in range(args.floor_runs):
            order = ("floor", "job") if round_no % 2 == 0 else ("job", "floor")
            keys = {}
            for side in order:
                reset()
                t0 = time.perf_counter()
                if side == "floor":
                    with transaction.atomic(), connection.cursor() as cursor:
                        cursor.execute(FLOOR_SQL, [due_now, lo, hi])
                    floors.append(time.perf_counter() - t0)
                    keys["floor"] = written_keys()
                    continue
                with _profile(args.profile and round_no == 0):
                    if args.cprofile and round_no == 0:
                        import cProfile
                        import pstats

                        profiler = cProfile.Profile()
                        processed = profiler.runcall(summaries_due_job, now=due_now, chunk=args.chunk)
                        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
                    else:
                        processed = summaries_due_job(now=due_now, chunk=args.chunk)
                jobs.append(time.perf_counter() - t0)
                keys["job"] = written_keys()
                written = len(keys["job"])
                # Replay the same week: every stored row is current, so nothing is computed or written.
                with connection.cursor() as cursor:
                    cursor.execute("UPDATE tracker_user SET next_summary_at = next_summary_at - %s", [WEEK])
                t0 = time.perf_counter()
                with _profile(args.profile and round_no == 0):
                    summaries_due_job(now=due_now, chunk=args.chunk)
                reruns.append(time.perf_counter() - t0)
            if keys["floor"] != keys["job"]:
                raise SystemExit(
                    f"bench.summaries: floor and job wrote different rows ({len(keys['floor'] ^ keys['job'])})"
                )
            print(f"round {round_no + 1} ({order[0]} first): floor {floors[-1]:.3f}s  job {jobs[-1]:.3f}s  "
                  f"re-run {reruns[-1]:.3f}s  rows equal (user, week, checkins)")  # fmt: skip

        floor, job, rerun = (statistics.median(values) for values in (floors, jobs, reruns))
        print(f"floor (INSERT … SELECT … GROUP BY, {written} rows): {floor:.3f}s (median of {args.floor_runs})")
        print(f"summaries_due_job: {processed} users, {written} summaries, chunk {args.chunk}: {job:.3f}s")
        print(f"re-run of the same week (nothing changes): {rerun:.3f}s")
        print(f"ratio job / floor: {job / floor:.2f}   re-run / floor: {rerun / floor:.2f}")
        print(f"per user: job {job / max(processed, 1) * 1e6:.0f} us, floor {floor / max(args.users, 1) * 1e6:.0f} us")
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(old_name, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
