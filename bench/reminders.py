"""Benchmark: one reminder tick over N due users against a hand-written SQL floor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/securebase python -m bench.reminders --users 100000

Runs in a scratch database `<name>_bench` next to the one DATABASE_URL names (created and migrated
if missing; its notification and user tables are emptied), so it never touches real data.

- **tick**: `notifications.services.reminders.reminders_job` — claim due schedules in batches
  (FOR UPDATE SKIP LOCKED), skip_if_done lookup, ledger INSERT … ON CONFLICT DO NOTHING RETURNING,
  inbox items, push dispatch rows, advance `next_due_at` (zoneinfo slot maths in Python).
- **floor**: one hand-written statement doing the same work for the seeded schedule shape (two wall
  times a day, quiet hours 22:00-07:00, skip_if_done, inbox + push): claim `FOR UPDATE SKIP LOCKED`,
  decide done / quiet-at-send / sent, write the same ledger rows, inbox items (rotated nudge texts)
  and per-device push dispatches, and advance each schedule to its next local slot (`AT TIME ZONE`).
  After every round the two sides' rows are compared row for row (deliveries, inbox, dispatches,
  schedule state); a difference aborts the benchmark.
Rounds alternate which side runs first (`--rounds`).
Prints both times, the ratio and the tick's statement count."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse, urlunparse

TIMEZONES = ["Europe/Berlin", "America/Los_Angeles", "Pacific/Auckland", "Asia/Kolkata"]
SLOT = datetime(2026, 11, 18, 8, 0, tzinfo=UTC)


def _bench_database_url() -> str:
    url = os.getenv("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench.reminders needs PostgreSQL: set DATABASE_URL=postgres://…")
    parsed = urlparse(url)
    name = parsed.path.lstrip("/") or "securebase"
    bench_name = name if name.endswith("_bench") else f"{name}_bench"
    import psycopg

    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [bench_name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{bench_name}"')
    return urlunparse(parsed._replace(path=f"/{bench_name}"))


def _seed(cursor, users: int, checkin_share: float, device_share: float) -> None:
    cursor.execute(
        "TRUNCATE notifications_deliveryattempt, notifications_dispatch, notifications_inboxitem, "
        "notifications_delivery, notifications_device, notifications_reminderschedule, tracker_checkin, "
        "tracker_weeklysummary, tracker_user CASCADE"
    )
    cursor.execute(
        """
        INSERT INTO tracker_user (id, password, is_superuser, email, display_name, role, timezone,
                                  locale, country, is_active, is_staff, date_joined)
        SELECT gen_random_uuid(), '!', false, 'bench' || g || '@bench.invalid', '', 'client',
               (%s::text[])[1 + g %% %s], 'en', '', true, false, now()
        FROM generate_series(1, %s) AS g
        """,
        [TIMEZONES, len(TIMEZONES), users],
    )
    cursor.execute(
        """
        INSERT INTO notifications_reminderschedule (user_id, enabled, times, weekdays, quiet_start, quiet_end,
            skip_if_done, channels, paused_until, next_due_at, last_slot_at, unopened_streak,
            backoff_skipped_last, sent_count, claim_token, created_at, updated_at)
        SELECT id, true, '["09:00", "20:00"]', '[1,2,3,4,5,6,7]', '22:00', '07:00', true, '["inbox", "push"]',
               NULL, %s, %s, 0, false, 0, NULL, now(), now()
        FROM tracker_user
        """,
        [SLOT, SLOT - timedelta(hours=13)],
    )
    cursor.execute(
        "INSERT INTO tracker_instrument (code, version, title, definition, is_default, created_at) "
        "VALUES ('bench', 1, 'Bench', '{}', true, now()) ON CONFLICT DO NOTHING"
    )
    cursor.execute(
        """
        INSERT INTO tracker_checkin (id, user_id, occurred_at, utc_offset_minutes, note, created_at, updated_at,
            deleted_at, instrument_id, responses, anxiety, avoidance, self_model, other_model, distance_to_secure,
            quadrant, extra_scores, safety_flag, safety_reason, revision, change_seq)
        SELECT gen_random_uuid(), id, %s, 0, '', now(), now(), NULL,
               (SELECT id FROM tracker_instrument WHERE code = 'bench'), '[]', 4, 4, 4, 4, 0, 'secure', '{}',
               false, '', 1, 1
        FROM tracker_user WHERE random() < %s
        """,
        [SLOT - timedelta(hours=2), checkin_share],
    )
    cursor.execute(
        """
        INSERT INTO notifications_device (id, user_id, platform, token, app_version, enabled, disabled_reason,
                                          created_at, updated_at)
        SELECT gen_random_uuid(), id, 'android', 'bench-' || id, '1.0', true, '', now(), now()
        FROM tracker_user WHERE random() < %s
        """,
        [device_share],
    )
    cursor.execute("ANALYZE")


def _reset(cursor) -> None:
    cursor.execute(
        "TRUNCATE notifications_deliveryattempt, notifications_dispatch, notifications_inboxitem, "
        "notifications_delivery CASCADE"
    )
    cursor.execute(
        "UPDATE notifications_reminderschedule SET next_due_at = %s, last_slot_at = %s, unopened_streak = 0, "
        "backoff_skipped_last = false, sent_count = 0",
        [SLOT, SLOT - timedelta(hours=13)],
    )
    cursor.execute("VACUUM ANALYZE notifications_reminderschedule")


FLOOR_SQL = """
WITH claimed AS (
    SELECT s.id, s.user_id, s.next_due_at AS slot, s.unopened_streak, s.sent_count, s.quiet_start, s.quiet_end,
           s.times, u.timezone AS tz,
           s.skip_if_done AND EXISTS (
               SELECT 1 FROM tracker_checkin c WHERE c.user_id = s.user_id AND c.deleted_at IS NULL
                 AND c.occurred_at <= %(now)s
                 AND c.occurred_at >= COALESCE(s.last_slot_at, s.next_due_at - interval '1 day')
           ) AS done
    FROM notifications_reminderschedule s JOIN tracker_user u ON u.id = s.user_id
    WHERE s.next_due_at <= %(now)s
    FOR UPDATE OF s, u SKIP LOCKED
),
planned AS (
    SELECT c.*,
           CASE WHEN (%(now)s AT TIME ZONE c.tz)::time >= c.quiet_start
                  OR (%(now)s AT TIME ZONE c.tz)::time < c.quiet_end THEN 'quiet'
                WHEN c.done THEN 'done' ELSE '' END AS skip_reason,
           -- user_id.int %% 7 (the nudge text rotation), from the UUID's two 64-bit halves
           ((('x' || substr(replace(c.user_id::text, '-', ''), 1, 16))::bit(64)::bigint::numeric
              + CASE WHEN substr(replace(c.user_id::text, '-', ''), 1, 1) >= '8' THEN 18446744073709551616 ELSE 0 END)
             * 18446744073709551616
            + (('x' || substr(replace(c.user_id::text, '-', ''), 17, 16))::bit(64)::bigint::numeric
              + CASE WHEN substr(replace(c.user_id::text, '-', ''), 17, 1) >= '8' THEN 18446744073709551616 ELSE 0 END)
           ) %% 7 AS user_offset,
           (SELECT min((d + t::time) AT TIME ZONE c.tz)
              FROM generate_series(((c.slot AT TIME ZONE c.tz)::date - 1)::timestamp,
                                   ((c.slot AT TIME ZONE c.tz)::date + 2)::timestamp, interval '1 day') AS d,
                   jsonb_array_elements_text(c.times) AS t
             WHERE (d + t::time) AT TIME ZONE c.tz > c.slot) AS following
    FROM claimed c
),
texts AS (
    SELECT p.*, (%(texts)s::text[])[1 + ((p.sent_count + p.user_offset) %% %(n_texts)s)::int] AS title,
           (%(bodies)s::text[])[1 + ((p.sent_count + p.user_offset) %% %(n_texts)s)::int] AS body
    FROM planned p
),
d AS (
    INSERT INTO notifications_delivery (user_id, kind, slot, status, skip_reason, title, body, deep_link, created_at)
    SELECT user_id, 'nudge', slot, CASE WHEN skip_reason = '' THEN 'sent' ELSE 'skipped' END, skip_reason,
           CASE WHEN skip_reason = '' THEN title ELSE '' END, CASE WHEN skip_reason = '' THEN body ELSE '' END,
           CASE WHEN skip_reason = '' THEN %(link)s ELSE '' END, %(now)s
    FROM texts
    ON CONFLICT (user_id, kind, slot) DO NOTHING
    RETURNING id, user_id, status, title, body, deep_link
),
i AS (
    INSERT INTO notifications_inboxitem (id, user_id, delivery_id, kind, title, body, deep_link, created_at)
    SELECT gen_random_uuid(), user_id, id, 'nudge', title, body, deep_link, %(now)s FROM d WHERE status = 'sent'
),
p AS (
    INSERT INTO notifications_dispatch (delivery_id, channel, device_id, status, last_error, attempts, next_attempt_at,
                                        created_at, updated_at)
    SELECT d.id, 'push', dev.id, %(push_status)s, %(push_note)s, 0, %(now)s, %(now)s, %(now)s
    FROM d JOIN notifications_device dev ON dev.user_id = d.user_id AND dev.enabled WHERE d.status = 'sent'
),
advanced AS (
UPDATE notifications_reminderschedule s
SET next_due_at = t.following, last_slot_at = t.slot,
    unopened_streak = CASE t.skip_reason WHEN '' THEN t.unopened_streak + 1 WHEN 'done' THEN 0
                                        ELSE t.unopened_streak END,
    backoff_skipped_last = false,
    sent_count = t.sent_count + CASE WHEN t.skip_reason = '' THEN 1 ELSE 0 END,
    claim_token = NULL
FROM texts t WHERE s.id = t.id
RETURNING 1
)
SELECT count(*) FROM advanced
"""


def _snapshot(cursor) -> dict:
    """Everything both sides write, keyed so that generated ids do not matter."""
    queries = {
        "deliveries": "SELECT user_id, kind, slot, status, skip_reason, title, body, deep_link, created_at "
        "FROM notifications_delivery",
        "inbox": "SELECT i.user_id, d.slot, i.kind, i.title, i.body, i.deep_link, i.read_at, i.opened_at "
        "FROM notifications_inboxitem i JOIN notifications_delivery d ON d.id = i.delivery_id",
        "dispatches": "SELECT d.user_id, d.slot, p.channel, p.device_id, p.status, p.last_error, p.attempts, "
        "p.next_attempt_at FROM notifications_dispatch p JOIN notifications_delivery d ON d.id = p.delivery_id",
        "schedules": "SELECT user_id, next_due_at, last_slot_at, unopened_streak, backoff_skipped_last, sent_count, "
        "claim_token FROM notifications_reminderschedule",
    }
    result = {}
    for name, sql in queries.items():
        cursor.execute(sql)
        result[name] = sorted(cursor.fetchall(), key=str)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=None, help="REMINDER_BATCH_SIZE (default: settings)")
    parser.add_argument("--checkin-share", type=float, default=0.1, help="share of users who checked in")
    parser.add_argument("--device-share", type=float, default=0.3, help="share of users with a push device")
    parser.add_argument("--rounds", type=int, default=3, help="alternating floor/tick rounds (medians printed)")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = _bench_database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction

    from notifications.models import Delivery, InboxItem
    from notifications.services.reminders import reminders_job

    if args.batch_size:
        settings.REMINDER_BATCH_SIZE = args.batch_size
    call_command("migrate", verbosity=0)
    now = SLOT + timedelta(minutes=1)
    from notifications.content import NUDGE_DEEP_LINK, NUDGE_TEXTS
    from notifications.transports import TRANSPORTS

    push = TRANSPORTS["push"]
    floor_params = {
        "now": now,
        "texts": [t for t, _ in NUDGE_TEXTS],
        "bodies": [b for _, b in NUDGE_TEXTS],
        "n_texts": len(NUDGE_TEXTS),
        "link": NUDGE_DEEP_LINK,
        "push_status": "pending" if push.configured() else "disabled",
        "push_note": "" if push.configured() else "push not configured",
    }
    with connection.cursor() as cursor:
        began = time.perf_counter()
        _seed(cursor, args.users, args.checkin_share, args.device_share)
        print(
            f"seeded {args.users} due users in {time.perf_counter() - began:.1f}s ({connection.settings_dict['NAME']})"
        )
    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    def run_floor(cursor) -> float:
        began = time.perf_counter()
        with transaction.atomic():
            cursor.execute(FLOOR_SQL, floor_params)
            advanced = cursor.fetchone()[0]
            assert advanced == args.users, advanced
        return time.perf_counter() - began

    def run_tick() -> float:
        nonlocal statements
        statements = 0
        with connection.execute_wrapper(count):
            began = time.perf_counter()
            processed = reminders_job(now=now)
            elapsed = time.perf_counter() - began
        assert processed == args.users, (processed, args.users)
        return elapsed

    floors, ticks = [], []
    with connection.cursor() as cursor:
        for round_no in range(args.rounds):
            order = ("floor", "tick") if round_no % 2 == 0 else ("tick", "floor")
            snapshots = {}
            for side in order:
                _reset(cursor)
                if side == "floor":
                    floors.append(run_floor(cursor))
                else:
                    ticks.append(run_tick())
                snapshots[side] = _snapshot(cursor)
            if snapshots["floor"] != snapshots["tick"]:
                for name in snapshots["tick"]:
                    diff = set(snapshots["tick"][name]) ^ set(snapshots["floor"][name])
                    print(f"MISMATCH {name}: {len(diff)} rows differ, e.g. {sorted(diff, key=str)[:2]}")
                raise SystemExit("bench.reminders: the floor and the tick wrote different rows")
            print(
                f"round {round_no + 1} ({order[0]} first): floor {floors[-1]:.3f}s  tick {ticks[-1]:.3f}s  rows equal"
            )

    sent = Delivery.objects.filter(status="sent").count()
    skipped = Delivery.objects.filter(status="skipped").count()
    assert InboxItem.objects.count() == sent
    floor, tick = statistics.median(floors), statistics.median(ticks)
    print(f"batch size            {settings.REMINDER_BATCH_SIZE}")
    print(f"floor (1 statement)   {floor:8.3f}s  {args.users} rows (median of {args.rounds})")
    print(f"tick                  {tick:8.3f}s  {args.users} schedules, {sent} sent, {skipped} skipped")
    batches = max(1, args.users / settings.REMINDER_BATCH_SIZE)
    print(f"tick statements       {statements}  ({statements / batches:.1f} per batch)")
    print(f"throughput            {args.users / tick:,.0f} schedules/s")
    print(f"ratio tick / floor    {tick / floor:.1f}x")


if __name__ == "__main__":
    main()
