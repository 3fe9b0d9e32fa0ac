"""The equal-work floor for the HTTP workloads: a bare WSGI app on psycopg, served by the same gunicorn.

No Django request stack, no DRF, one connection per worker; hand-written SQL. Each endpoint writes the
same rows as the project's (B1, B3's access log, B6) or computes the numbers it says it computes:

- `POST /checkins/` (B1): token digest → user (one SELECT joined to the user), the same scoring
  function, change counter `INSERT … ON CONFLICT … RETURNING`, check-in `INSERT`. 3 statements.
  Notes are left empty by the bench, so no Fernet work on either side.
- `GET /trends/?weeks=N` (B2): auth + one `GROUP BY local ISO week, instrument` over the user's history
  (count, sums of anxiety, avoidance, D; partial ECR-RS check-ins counted apart) + the regulation logs of
  the window, then the same statistics as the project (`tracker.insights.trends.trend_report`: EWMA,
  Theil-Sen with CIs, Mann-Kendall, reliable change, quadrant, regulation figures). Does less only in
  what the bench data never exercises: no adherence count (bench users have no reminder schedule) and
  no per-target series (no ECR-RS check-ins).
- `GET /clients/` (B3): auth + one SELECT of active grants with each client's last check-in (LATERAL) +
  one `GROUP BY client, local week in the client's timezone, instrument` keeping each instrument's first
  two weeks and the window's (window functions), the same direction verdict
  (`tracker.insights.trends.trend_direction`) + one access-log INSERT.
- `POST /sync/` (B6): auth, JSON items checked, one `INSERT … SELECT FROM unnest … ON CONFLICT DO NOTHING
  RETURNING id`, one SELECT of the conflicting ids, content compared. Creates only (what the bench sends).

Every response carries `X-Statements` (SQL statements run for it)."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import UTC, date, datetime
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import psycopg

from tracker.common.weeks import WEEK, local_midnight_utc, local_week_start
from tracker.entries.vocabularies import STRATEGY_FAMILY
from tracker.insights import scoring, trends

_conn = None
_instruments: dict = {}
_metadata: dict = {}  # instrument id -> ("code:version", metadata), as the project's catalogue


def _db():
    global _conn
    if _conn is None or _conn.closed:
        _conn = psycopg.connect(os.environ["FLOOR_DATABASE_URL"], autocommit=False)
        with _conn.cursor() as cur:
            cur.execute("SELECT id, code, version, definition, is_default FROM tracker_instrument")
            for pk, code, version, definition, is_default in cur.fetchall():
                _metadata[pk] = (f"{code}:{version}", (definition or {}).get("metadata"))
                try:
                    entry = (pk, scoring.key_from_definition(definition))
                except (scoring.ScoringError, KeyError, TypeError, ValueError):
                    continue  # e.g. the placeholder instrument bench.reminders seeds
                _instruments[(code, version)] = entry
                if is_default:
                    _instruments["default"] = entry
                if (code, None) not in _instruments or version > _instruments[(code, None)][2]:
                    _instruments[(code, None)] = (pk, entry[1], version)
        _conn.commit()
    return _conn


def _user(cur, environ):
    header = environ.get("HTTP_AUTHORIZATION", "").split()
    if len(header) != 2:
        return None
    digest = hashlib.sha512(header[1].encode()).hexdigest()
    cur.execute(
        "SELECT u.id, u.timezone FROM tracker_devicetoken t JOIN tracker_user u ON u.id = t.user_id "
        "WHERE t.digest = %s AND (t.expiry IS NULL OR t.expiry > now()) AND u.is_active",
        [digest],
    )
    return cur.fetchone()


def _reply(start, status, body, statements):
    data = json.dumps(body, default=str).encode()
    start(status, [("Content-Type", "application/json"), ("X-Statements", str(statements))])
    return [data]


def _checkin_row(user_id, body, seq, now):
    code = body.get("instrument")
    pk, key = _instruments[(code, body.get("instrument_version"))][:2] if code else _instruments["default"][:2]
    scores = scoring.score(key, body["responses"], cut=4.0)
    occurred = datetime.fromisoformat(body["occurred_at"])
    offset = int(occurred.utcoffset().total_seconds() // 60)
    responses = sorted(
        ({"item": r["item"], "value": r["value"]} for r in body["responses"]), key=lambda r: ("", r["item"])
    )
    return (
        uuid.UUID(body["id"]), user_id, occurred.astimezone(UTC), offset, "", now, now, pk, json.dumps(responses),
        scores.anxiety, scores.avoidance, scores.self_model, scores.other_model, scores.distance_to_secure,
        scores.quadrant, json.dumps(scores.extra), 1, seq,
    )  # fmt: skip


INSERT_COLUMNS = (
    "id, user_id, occurred_at, utc_offset_minutes, note, created_at, updated_at, instrument_id, responses, "
    "anxiety, avoidance, self_model, other_model, distance_to_secure, quadrant, extra_scores, revision, change_seq"
)


def _seq(cur, user_id, count):
    cur.execute(
        "INSERT INTO tracker_changecounter (user_id, last_seq) VALUES (%s, %s) ON CONFLICT (user_id) DO UPDATE "
        "SET last_seq = tracker_changecounter.last_seq + excluded.last_seq RETURNING last_seq",
        [user_id, count],
    )
    return cur.fetchone()[0] - count + 1


def checkins(environ, start):
    conn = _db()
    body = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
    with conn.cursor() as cur:
        user = _user(cur, environ)
        if user is None:
            conn.rollback()
            return _reply(start, "401 Unauthorized", {"error": "unauthenticated"}, 1)
        now = datetime.now(UTC)
        row = _checkin_row(user[0], body, _seq(cur, user[0], 1), now)
        cur.execute(
            f"INSERT INTO tracker_checkin ({INSERT_COLUMNS}) VALUES ({', '.join(['%s'] * len(row))}) "
            "ON CONFLICT DO NOTHING RETURNING id",
            row,
        )
        created = cur.fetchone() is not None
    conn.commit()
    out = {"id": body["id"], "anxiety": row[9], "avoidance": row[10], "quadrant": row[14]}
    return _reply(start, "201 Created" if created else "200 OK", out, 3)


def _window(tz: str, weeks: int) -> tuple[list[date], datetime, datetime]:
    zone = ZoneInfo(tz)
    current = local_week_start(datetime.now(UTC), zone)
    window = [current - WEEK * (weeks - 1 - i) for i in range(weeks)]
    return window, local_midnight_utc(window[0], zone), local_midnight_utc(current + WEEK, zone)


def _point(week, instrument_id, n, anxiety, avoidance, distance) -> trends.WeeklyPoint:
    return trends.WeeklyPoint(
        week_start=week,
        checkins=int(n),
        anxiety=anxiety / n,
        avoidance=avoidance / n,
        distance_to_secure=distance / n,
        instruments={_metadata[instrument_id][0]: int(n)},
    )


COMPLETE = "NOT coalesce((c.extra_scores ->> 'partial')::boolean, false)"


def trends_view(environ, start):
    conn = _db()
    weeks = int(parse_qs(environ.get("QUERY_STRING", "")).get("weeks", ["13"])[0])
    with conn.cursor() as cur:
        user = _user(cur, environ)
        window, lo, hi = _window(user[1], weeks)
        cur.execute(
            f"""
            SELECT (date_trunc('week', c.occurred_at AT TIME ZONE %(tz)s))::date, c.instrument_id,
                   count(*) FILTER (WHERE {COMPLETE}), count(*) FILTER (WHERE NOT {COMPLETE}),
                   sum(c.anxiety) FILTER (WHERE {COMPLETE}), sum(c.avoidance) FILTER (WHERE {COMPLETE}),
                   sum(c.distance_to_secure) FILTER (WHERE {COMPLETE})
            FROM tracker_checkin c
            WHERE c.user_id = %(user)s AND c.deleted_at IS NULL AND c.occurred_at < %(hi)s
            GROUP BY 1, 2 ORDER BY 1
            """,
            {"tz": user[1], "user": user[0], "hi": hi},
        )
        rows = cur.fetchall()
        cur.execute(
            "SELECT intensity_before, intensity_after, strategies, reached_out, recovery_minutes "
            "FROM tracker_regulationlog WHERE user_id = %s AND deleted_at IS NULL "
            "AND occurred_at >= %s AND occurred_at < %s",
            [user[0], lo, hi],
        )
        episodes = [trends.Episode(*row) for row in cur.fetchall()]
    conn.commit()
    history = [_point(week, i, n, *sums) for week, i, n, _partial, *sums in rows if n]
    report = trends.trend_report(
        history=history,
        window=window,
        episodes=episodes,
        families=STRATEGY_FAMILY,
        instrument_metadata=dict(_metadata.values()),
        config=trends.TrendConfig(quadrant_cut=4.0),
    )
    return _reply(start, "200 OK", report, 3)


def clients(environ, start):
    conn = _db()
    limit = min(int(parse_qs(environ.get("QUERY_STRING", "")).get("page_size", ["50"])[0]), 200)
    with conn.cursor() as cur:
        user = _user(cur, environ)
        cur.execute(
            """
            SELECT g.id, g.client_id, u.display_name,
                   ARRAY_REMOVE(ARRAY[CASE WHEN g.scope_checkins THEN 'checkins' END,
                     CASE WHEN g.scope_regulation_logs THEN 'regulation_logs' END,
                     CASE WHEN g.scope_notes THEN 'notes' END,
                     CASE WHEN g.scope_summaries THEN 'summaries' END], NULL),
                   g.accepted_at, g.expires_at, last.occurred_at, u.timezone
            FROM tracker_sharegrant g JOIN tracker_user u ON u.id = g.client_id
            LEFT JOIN LATERAL (SELECT occurred_at FROM tracker_checkin c WHERE c.user_id = g.client_id
                               AND c.deleted_at IS NULL ORDER BY occurred_at DESC LIMIT 1) last ON true
            WHERE g.therapist_id = %s AND g.status = 'active' AND (g.expires_at IS NULL OR g.expires_at > now())
            ORDER BY g.accepted_at DESC, g.id DESC LIMIT %s
            """,
            [user[0], limit],
        )
        rows = cur.fetchall()
        now = datetime.now(UTC)
        windows = {r[1]: _window(r[7], 12)[0] for r in rows}
        cur.execute(
            f"""
            SELECT user_id, week, instrument_id, n, a, v, d, total FROM (
                SELECT g.*, row_number() OVER (PARTITION BY user_id, instrument_id ORDER BY week) AS nth,
                       sum(n) OVER (PARTITION BY user_id, instrument_id) AS total
                FROM (SELECT c.user_id, (date_trunc('week', c.occurred_at AT TIME ZONE u.timezone))::date AS week,
                             c.instrument_id, count(*) AS n, sum(c.anxiety) AS a, sum(c.avoidance) AS v,
                             sum(c.distance_to_secure) AS d
                      FROM tracker_checkin c JOIN tracker_user u ON u.id = c.user_id
                      WHERE c.user_id = ANY(%s) AND c.deleted_at IS NULL AND c.occurred_at <= %s AND {COMPLETE}
                      GROUP BY 1, 2, 3) g
            ) ranked WHERE nth <= 2 OR week >= %s ORDER BY user_id, instrument_id, week
            """,
            [[r[1] for r in rows], now, min((w[0] for w in windows.values()), default=date.min)],
        )
        history: dict = {}
        totals: dict = {}
        for client, week, instrument_id, n, a, v, d, total in cur.fetchall():
            history.setdefault(client, []).append(_point(week, instrument_id, n, a, v, d))
            totals.setdefault(client, {})[_metadata[instrument_id][0]] = int(total)
        cur.execute(
            "INSERT INTO tracker_accesslogentry (grant_id, therapist_id, client_id, resource, channel, accessed_at) "
            "SELECT g, %s, c, 'client_list', 'api', now() FROM unnest(%s::uuid[], %s::uuid[]) AS t(g, c)",
            [user[0], [r[0] for r in rows], [r[1] for r in rows]],
        )
    conn.commit()
    psychometrics = {key: trends.psychometrics_from_metadata(metadata) for key, metadata in _metadata.values()}
    config = trends.TrendConfig(quadrant_cut=4.0)
    results = [
        {"client": {"id": str(r[1]), "display_name": r[2]}, "share_id": str(r[0]), "scopes": r[3],
         "accepted_at": r[4], "expires_at": r[5],
         "status": {"last_checkin_at": r[6], "direction": trends.trend_direction(
             history=history.get(r[1], []), window=windows[r[1]], psychometrics=psychometrics,
             checkins_total=totals.get(r[1], {}), config=config)["value"]}}
        for r in rows
    ]  # fmt: skip
    return _reply(start, "200 OK", {"results": results, "next": None}, 4)


def sync(environ, start):
    conn = _db()
    items = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))["items"]
    with conn.cursor() as cur:
        user = _user(cur, environ)
        now = datetime.now(UTC)
        first = _seq(cur, user[0], len(items))
        rows = [
            _checkin_row(user[0], {**item["record"], "id": item["id"]}, first + i, now) for i, item in enumerate(items)
        ]
        columns = list(zip(*rows, strict=True))
        types = ["uuid", "uuid", "timestamptz", "int", "text", "timestamptz", "timestamptz", "bigint", "jsonb",
                 "float8", "float8", "float8", "float8", "float8", "text", "jsonb", "int", "bigint"]  # fmt: skip
        unnest = ", ".join(f"%s::{t}[]" for t in types)
        cur.execute(
            f"INSERT INTO tracker_checkin ({INSERT_COLUMNS}) SELECT * FROM unnest({unnest}) "
            "ON CONFLICT DO NOTHING RETURNING id",
            [list(c) for c in columns],
        )
        inserted = {r[0] for r in cur.fetchall()}
        conflicts = [r[0] for r in rows if r[0] not in inserted]
        stored = {}
        if conflicts:
            cur.execute(
                "SELECT id, user_id, occurred_at, utc_offset_minutes, responses, revision FROM tracker_checkin "
                "WHERE id = ANY(%s)",
                [conflicts],
            )
            stored = {r[0]: r for r in cur.fetchall()}
    conn.commit()
    results = []
    for row in rows:
        if row[0] in inserted:
            results.append({"type": "checkin", "id": str(row[0]), "status": "created", "revision": 1})
            continue
        have = stored.get(row[0])
        same = have and have[1] == row[1] and have[2] == row[2] and have[3] == row[3] and have[4] == json.loads(row[8])
        status = "unchanged" if same else "conflict"
        results.append({"type": "checkin", "id": str(row[0]), "status": status, "revision": have[5] if have else None})
    return _reply(start, "200 OK", {"results": results}, 4 if conflicts else 3)


ROUTES = {"/checkins/": checkins, "/trends/": trends_view, "/clients/": clients, "/sync/": sync}


def app(environ, start):
    if environ["PATH_INFO"] not in ROUTES:
        return _reply(start, "404 Not Found", {"error": "not_found"}, 0)
    try:
        return ROUTES[environ["PATH_INFO"]](environ, start)
    except Exception:
        if _conn is not None:
            _conn.rollback()
        raise
