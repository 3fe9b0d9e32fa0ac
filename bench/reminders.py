"""Benchmark: one reminder tick over N due users against a hand-written SQL floor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/securebase python -m bench.reminders --users 100000

Runs in a scratch database `<name>_bench` next to the one DATABASE_URL names (created and migrated
if missing; its notification and user tables are emptied), so it never touches real data.

- **tick**: `notifications.services.reminders.reminders_job` — claim due schedules in batches
  (FOR UPDATE SKIP LOCKED), skip_if_done lookup, ledger INSERT … ON CONFLICT DO NOTHING RETURNING,
  inbox items, push dispatch rows, advance `next_due_at` (zoneinfo slot maths in Python).
- **floor**: one statement that selects and marks the same rows and nothing else:
  `UPDATE … SET next_due_at = next_due_at + 1 day, last_slot_at = next_due_at
   WHERE id IN (SELECT id … WHERE next_due_at <= now FOR UPDATE SKIP LOCKED)`.
Prints both times, the ratio and the tick's statement count."""

from __future__ import annotations

import argparse
import os
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
                                  locale, is_active, is_staff, date_joined)
        SELECT gen_random_uuid(), '!', false, 'bench' || g || '@bench.invalid', '', 'client',
               (%s::text[])[1 + g %% %s], 'en', true, false, now()
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
            quadrant, extra_scores, revision, change_seq)
        SELECT gen_random_uuid(), id, %s, 0, '', now(), now(), NULL,
               (SELECT id FROM tracker_instrument WHERE code = 'bench'), '[]', 4, 4, 4, 4, 0, 'secure', '{}', 1, 1
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
UPDATE notifications_reminderschedule
SET next_due_at = next_due_at + interval '1 day', last_slot_at = next_due_at
WHERE id IN (SELECT id FROM notifications_reminderschedule WHERE next_due_at <= %s FOR UPDATE SKIP LOCKED)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=None, help="REMINDER_BATCH_SIZE (default: settings)")
    parser.add_argument("--checkin-share", type=float, default=0.1, help="share of users who checked in")
    parser.add_argument("--device-share", type=float, default=0.3, help="share of users with a push device")
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
    with connection.cursor() as cursor:
        began = time.perf_counter()
        _seed(cursor, args.users, args.checkin_share, args.device_share)
        print(
            f"seeded {args.users} due users in {time.perf_counter() - began:.1f}s ({connection.settings_dict['NAME']})"
        )

        _reset(cursor)
        began = time.perf_counter()
        with transaction.atomic():
            cursor.execute(FLOOR_SQL, [now])
            floor_rows = cursor.rowcount
        floor = time.perf_counter() - began

        _reset(cursor)
    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        began = time.perf_counter()
        processed = reminders_job(now=now)
        tick = time.perf_counter() - began

    sent = Delivery.objects.filter(status="sent").count()
    skipped = Delivery.objects.filter(status="skipped").count()
    assert processed == floor_rows == args.users, (processed, floor_rows, args.users)
    assert InboxItem.objects.count() == sent
    print(f"batch size            {settings.REMINDER_BATCH_SIZE}")
    print(f"floor (1 statement)   {floor:8.3f}s  {floor_rows} rows")
    print(f"tick                  {tick:8.3f}s  {processed} schedules, {sent} sent, {skipped} skipped (done)")
    batches = max(1, processed / settings.REMINDER_BATCH_SIZE)
    print(f"tick statements       {statements}  ({statements / batches:.1f} per batch)")
    print(f"throughput            {processed / tick:,.0f} schedules/s")
    print(f"ratio tick / floor    {tick / floor:.1f}x")


if __name__ == "__main__":
    main()
