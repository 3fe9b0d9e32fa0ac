"""HTTP workloads B1, B2, B3, B6: the project under gunicorn vs the floor app (bench/floor.py) under gunicorn.

Both servers: gunicorn, 2 sync workers, DEBUG off, the same PostgreSQL scratch database (`sb_bench`) and
Redis db 9. Load: `wrk` (Debian package) with a Lua script per workload; B6 is sequential requests from
Python (one 500-item batch at a time, as a phone sends it). Rounds alternate project and floor (and
the order inside a round), medians are reported. Statements per request: the project's counted
in-process with the Django test client on the same data, the floor's from its `X-Statements` header."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# BENCH_PORT: the project's port (the floor takes the next one), so parallel runs can pick free ports.
PROJECT_PORT = int(os.environ.get("BENCH_PORT", "18150"))
FLOOR_PORT = PROJECT_PORT + 1
WMC = {1: 6, 2: 2, 3: 5, 4: 3, 5: 2, 6: 6, 7: 1, 8: 7}
B1_USERS, B2_USERS = 64, 8
HISTORY_WEEKS, PER_WEEK = 26, 5


def _server_env(database_url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "FLOOR_DATABASE_URL": database_url.replace("postgres://", "postgresql://", 1),
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
        "DEBUG": "false",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "THROTTLE_USER": "100000000/min",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def start_servers(database_url: str) -> list[subprocess.Popen]:
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    env = _server_env(database_url)
    procs = []
    for app, port in (("config.wsgi:application", PROJECT_PORT), ("bench.floor:app", FLOOR_PORT)):
        procs.append(
            subprocess.Popen(
                [gunicorn, app, "-w", "2", "-k", "sync", "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
                cwd=ROOT,
                env=env,
                start_new_session=True,
            )
        )
    for port in (PROJECT_PORT, FLOOR_PORT):
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=1)
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.2)
    return procs


def stop_servers(procs) -> None:
    for proc in procs:
        os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout=20)


# --- seeding -----------------------------------------------------------------------------------------
def seed() -> dict:
    """Users, tokens, check-in history and share grants for every HTTP workload."""
    from django.db import connection

    from tracker.models import DeviceToken, Instrument, User
    from tracker.sharing.models import ShareGrant

    wmc = Instrument.objects.get(code="wmc", is_default=True)
    with connection.cursor() as cur:
        cur.execute("TRUNCATE tracker_user CASCADE")
    Instrument.objects.filter(code="bench").delete()  # bench.reminders' placeholder (no items, no scale)
    sizes = {"t5": 5, "t50": 50, "t200": 200}
    users = {}

    def make(prefix, n, **extra):
        rows = [
            User(email=f"{prefix}-{i}@bench.invalid", password="!", display_name=f"{prefix} {i}",
                 timezone="Europe/Berlin", **extra)
            for i in range(n)
        ]  # fmt: skip
        return User.objects.bulk_create(rows)

    users["b1"] = make("b1", B1_USERS)
    users["b2"] = make("b2", B2_USERS)
    users["b6"] = make("b6", 2)  # one for the project, one for the floor
    therapists = make("therapist", len(sizes), role=User.Role.THERAPIST)
    # Verified the only way there is (a clinic checked the licence) and enrolled in a second factor,
    # so their tokens pass the same gates as production's.
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tracker.models import Clinic, ClinicMembership

    clinic = Clinic.objects.create(name="Bench clinic")
    ClinicMembership.objects.bulk_create(
        ClinicMembership(clinic=clinic, user=t, role="therapist", licence_number="B", licence_jurisdiction="B",
                         licence_expires_on=date(2099, 1, 1), licence_verified_at=datetime.now(UTC))
        for t in therapists
    )  # fmt: skip
    TOTPDevice.objects.bulk_create(TOTPDevice(user=t, name="bench", confirmed=True) for t in therapists)
    grants, clients = [], {}
    for therapist, (name, n) in zip(therapists, sizes.items(), strict=True):
        clients[name] = make(f"client-{name}", n)
        now = datetime.now(UTC)
        grants += [
            ShareGrant(client=c, therapist=therapist, accepted_at=now - timedelta(minutes=i))
            for i, c in enumerate(clients[name])
        ]
    ShareGrant.objects.bulk_create(grants)
    history = [u.pk for u in users["b2"]] + [c.pk for group in clients.values() for c in group]
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO tracker_changecounter (user_id, last_seq) SELECT id, 1000000 FROM tracker_user;
            INSERT INTO tracker_checkin (id, user_id, occurred_at, utc_offset_minutes, note, created_at, updated_at,
                deleted_at, instrument_id, responses, anxiety, avoidance, self_model, other_model,
                distance_to_secure, quadrant, extra_scores, revision, change_seq, safety_flag, safety_reason)
            SELECT gen_random_uuid(), u, now() - make_interval(hours => (k * 30 + w * 168)), 60, '', now(), now(),
                   NULL, %s, '[]'::jsonb, s.a, s.v, 8 - s.a, 8 - s.v,
                   sqrt(power(greatest(0, s.v - 4), 2) + power(greatest(0, s.a - 4), 2)),
                   CASE WHEN s.a > 4 AND s.v > 4 THEN 'fearful' WHEN s.a > 4 THEN 'preoccupied'
                        WHEN s.v > 4 THEN 'dismissing' ELSE 'secure' END, '{}'::jsonb, 1, w * 10 + k, false, ''
            FROM unnest(%s::uuid[]) AS u CROSS JOIN generate_series(0, %s) AS w CROSS JOIN generate_series(1, %s) AS k
            CROSS JOIN LATERAL (SELECT round((1 + random() * 6 + 0 * k)::numeric, 2)::float8 AS a,
                                       round((1 + random() * 6 + 0 * w)::numeric, 2)::float8 AS v) AS s;
            ANALYZE;
            """,
            [wmc.pk, history, HISTORY_WEEKS - 1, PER_WEEK],
        )

    def token(user):
        return DeviceToken.objects.create(user=user, expiry=timedelta(days=1))[1]

    return {
        "b1": [token(u) for u in users["b1"]],
        "b2": [token(u) for u in users["b2"]],
        "b6": [token(u) for u in users["b6"]],
        **{name: token(t) for t, name in zip(therapists, sizes, strict=True)},
    }


# --- requests ----------------------------------------------------------------------------------------
def checkin_body(checkin_id: str | None = None) -> dict:
    when = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    return {
        "id": checkin_id or str(uuid.uuid4()),
        "instrument": "wmc",
        "occurred_at": when.isoformat(),
        "responses": [{"item": i, "value": v} for i, v in WMC.items()],
    }


def call(port, method, path, token, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=data, method=method,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return response.status, json.loads(response.read() or b"null"), response.headers.get("X-Statements")


def _lua(tokens, method, path, body_template=None) -> str:
    lines = ["tokens = {" + ", ".join(f'"{t}"' for t in tokens) + "}", "math.randomseed(os.time())"]
    lines.append(
        "local function uuid() return string.format('%08x-%04x-4%03x-a%03x-%012x', math.random(0, 0xffffffff), "
        "math.random(0, 0xffff), math.random(0, 0xfff), math.random(0, 0xfff), math.random(0, 0xffffffffffff)) end"
    )
    lines.append("request = function()")
    lines.append('  local headers = {["Authorization"] = "Token " .. tokens[math.random(#tokens)], '
                 '["Content-Type"] = "application/json"}')  # fmt: skip
    if body_template:
        lines.append(f"  local body = string.gsub('{body_template}', '__ID__', uuid())")
        lines.append(f'  return wrk.format("{method}", "{path}", headers, body)')
    else:
        lines.append(f'  return wrk.format("{method}", "{path}", headers, nil)')
    lines.append("end")
    return "\n".join(lines) + "\n"


def wrk(port, script: str, connections: int, seconds: float) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    result = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            handle.name,
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(f"wrk failed: {result.stdout}\n{result.stderr}")
    out = result.stdout
    os.unlink(handle.name)

    def ms(text):
        value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p99": ms(re.search(r"\s99%\s+(\S+)", out).group(1)),
        "errors": int(errors.group(1)) if errors else 0,
    }


def project_statements(method, path, token, body=None) -> int:
    """Statements the project runs for one request (Django test client, same database)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    client.get("/api/v1/instruments/")  # warm: per-process caches (the instrument catalogue) as in a served worker
    with CaptureQueriesContext(connection) as queries:
        if method == "POST":
            response = client.post(path, json.dumps(body), content_type="application/json")
        else:
            response = client.get(path)
    assert response.status_code < 300, (path, response.status_code, response.content[:300])
    transaction_control = ("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT", "ROLLBACK")
    return sum(1 for q in queries.captured_queries if not q["sql"].startswith(transaction_control))


def _alternate(rounds, run_project, run_floor):
    project, floor = [], []
    for r in range(rounds):
        order = [(run_project, project), (run_floor, floor)]
        for run, out in order if r % 2 == 0 else order[::-1]:
            out.append(run())
    return project, floor


def _median(results, key):
    return statistics.median(r[key] for r in results)


# --- workloads ---------------------------------------------------------------------------------------
def b1(tokens, args) -> dict:
    body = json.dumps(checkin_body("__ID__")).replace("'", "\\'")
    script = _lua(tokens["b1"], "POST", "/api/v1/checkins/", body)
    floor_script = _lua(tokens["b1"], "POST", "/checkins/", body)
    p, f = _alternate(
        args.rounds,
        lambda: wrk(PROJECT_PORT, script, 32, args.seconds),
        lambda: wrk(FLOOR_PORT, floor_script, 32, args.seconds),
    )
    # Equal work: the same probe body stored by both, compared column by column.
    from tracker.models import CheckIn

    probe_p, probe_f = checkin_body(), checkin_body()
    call(PROJECT_PORT, "POST", "/api/v1/checkins/", tokens["b1"][0], probe_p)
    _, _, floor_statements = call(FLOOR_PORT, "POST", "/checkins/", tokens["b1"][0], probe_f)
    cols = ("user_id", "instrument_id", "occurred_at", "utc_offset_minutes", "responses", "anxiety", "avoidance")
    cols += ("self_model", "other_model", "distance_to_secure", "quadrant", "extra_scores", "revision", "note")
    rows = [CheckIn.objects.filter(id=b["id"]).values_list(*cols).get() for b in (probe_p, probe_f)]
    check = "rows equal" if rows[0] == rows[1] else f"ROWS DIFFER {rows}"
    statements = project_statements("POST", "/api/v1/checkins/", tokens["b1"][1], checkin_body())
    return _http_row("B1 POST checkins/ (32 conn)", p, f, statements, floor_statements, check)


def b2(tokens, args) -> dict:
    path = "/api/v1/trends/?weeks=13"
    p, f = _alternate(
        args.rounds,
        lambda: wrk(PROJECT_PORT, _lua(tokens["b2"], "GET", path), 8, args.seconds),
        lambda: wrk(FLOOR_PORT, _lua(tokens["b2"], "GET", "/trends/?weeks=13"), 8, args.seconds),
    )
    _, project, _ = call(PROJECT_PORT, "GET", path, tokens["b2"][0])
    _, floor, floor_statements = call(FLOOR_PORT, "GET", "/trends/?weeks=13", tokens["b2"][0])
    differ = [key for key in TREND_KEYS if project[key] != floor[key]]
    check = "trend reports equal (" + ", ".join(TREND_KEYS) + ")" if not differ else f"DIFFER: {differ}"
    statements = project_statements("GET", path, tokens["b2"][1])
    row = _http_row("B2 GET trends/?weeks=13", p, f, statements, floor_statements, check)
    row["note"] = "floor does less only in what the bench data never has: no adherence count, no per-target series"
    return row


# Every part of the trend report the floor computes (all but adherence and request metadata).
TREND_KEYS = ("instrument", "other_instruments", "weeks", "trajectory", "statistics", "direction", "quadrant")
TREND_KEYS += ("regulation",)


def _find_counts(body) -> list[int]:
    """Weekly check-in counts anywhere in a trend report (its shape is owned by the clinical issue)."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "week" in node or "week_start" in node:
                for key in ("n", "count", "checkins", "n_checkins"):
                    if isinstance(node.get(key), int) and node[key] > 0:
                        found.append(node[key])
                        break
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(body)
    return found


def b3(tokens, args) -> dict:
    p, f = _alternate(
        args.rounds,
        # 4 connections and >= 10 s: a slow project request must complete inside the round to be counted.
        lambda: wrk(PROJECT_PORT, _lua([tokens["t50"]], "GET", "/api/v1/clients/"), 4, max(10, args.seconds)),
        lambda: wrk(FLOOR_PORT, _lua([tokens["t50"]], "GET", "/clients/"), 4, max(10, args.seconds)),
    )
    _, project, _ = call(PROJECT_PORT, "GET", "/api/v1/clients/?page_size=50", tokens["t50"])
    _, floor, floor_statements = call(FLOOR_PORT, "GET", "/clients/", tokens["t50"])

    def key(rows, last):
        return sorted((r["client"]["id"], str(last(r))[:19], r["status"]["direction"]) for r in rows)

    same = key(
        project["results"], lambda r: datetime.fromisoformat(r["status"]["last_checkin_at"]).astimezone(UTC)
    ) == key(floor["results"], lambda r: datetime.fromisoformat(str(r["status"]["last_checkin_at"])).astimezone(UTC))
    verdicts = sorted({r["status"]["direction"] for r in project["results"]})
    flat, floor_flat = [], []
    for name in ("t5", "t200"):
        sides = ((PROJECT_PORT, "/api/v1/clients/", flat), (FLOOR_PORT, "/clients/", floor_flat))
        for port, path, out in sides:
            began = time.perf_counter()
            for _ in range(args.flat_requests):
                call(port, "GET", path + "?page_size=200", tokens[name])
            out.append((time.perf_counter() - began) / args.flat_requests * 1000)
    statements = project_statements("GET", "/api/v1/clients/", tokens["t50"])
    check = f"clients, last check-in and direction equal ({'/'.join(verdicts)})" if same else "client rows DIFFER"
    row = _http_row("B3 GET clients/ (50 clients)", p, f, statements, floor_statements, check)
    row["note"] = (
        f"5 vs 200 clients (page_size=200): project {flat[0]:.0f} vs {flat[1]:.0f} ms/request, "
        f"floor {floor_flat[0]:.0f} vs {floor_flat[1]:.0f}"
    )
    return row


def b6(tokens, args) -> dict:
    """500 items, half already stored (the previous batch's new half), sequential requests."""
    previous = {"project": [checkin_body() for _ in range(250)], "floor": [checkin_body() for _ in range(250)]}
    targets = {
        "project": (PROJECT_PORT, "/api/v1/sync/", tokens["b6"][0]),
        "floor": (FLOOR_PORT, "/sync/", tokens["b6"][1]),
    }
    for side, (port, path, token) in targets.items():  # store the first half
        items = [{"type": "checkin", "op": "create", "id": b["id"], "record": b} for b in previous[side]]
        call(port, "POST", path, token, {"items": items})
    statuses, statements = {}, {}

    def run(side):
        port, path, token = targets[side]
        times = []
        for _ in range(args.sync_requests):
            fresh = [checkin_body() for _ in range(250)]
            batch = previous[side] + fresh
            random.shuffle(batch)
            items = [{"type": "checkin", "op": "create", "id": b["id"], "record": b} for b in batch]
            began = time.perf_counter()
            _, body, header = call(port, "POST", path, token, {"items": items})
            times.append((time.perf_counter() - began) * 1000)
            statuses[side] = sorted(r["status"] for r in body["results"])
            statements[side] = header
            previous[side] = fresh
        return {"ms": statistics.median(times)}

    p, f = _alternate(args.rounds, lambda: run("project"), lambda: run("floor"))
    check = "statuses equal (250 created, 250 unchanged)" if statuses["project"] == statuses["floor"] else "DIFFER"
    batch = previous["project"] + [checkin_body() for _ in range(250)]
    items = [{"type": "checkin", "op": "create", "id": b["id"], "record": b} for b in batch]
    from django.db import connection

    connection.close()
    project_count = project_statements("POST", "/api/v1/sync/", tokens["b6"][0], {"items": items})
    pm, fm = _median(p, "ms"), _median(f, "ms")
    return {
        "workload": "B6 POST sync/ 500 items, half stored",
        "project": f"{pm:.0f} ms",
        "floor": f"{fm:.0f} ms",
        "ratio": f"{pm / fm:.2f}x time",
        "statements": f"{project_count} / {statements['floor']}",
        "check": check,
    }


def _http_row(name, p, f, statements, floor_statements, check) -> dict:
    prps, frps = _median(p, "rps"), _median(f, "rps")
    pp99, fp99 = _median(p, "p99"), _median(f, "p99")
    errors = sum(r["errors"] for r in p) + sum(r["errors"] for r in f)
    return {
        "workload": name,
        "project": f"{prps:.0f} req/s p99 {pp99:.0f} ms",
        "floor": f"{frps:.0f} req/s p99 {fp99:.0f} ms",
        "ratio": f"{prps / frps:.2f}x req/s, p99 {pp99 / fp99:.1f}x",
        "statements": f"{statements} / {floor_statements}",
        "check": check + (f"; {errors} non-2xx" if errors else ""),
    }


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("VmRSS")) / 1024


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    if int(handle.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _memory_row(procs) -> dict:
    """RSS of each gunicorn worker after the workloads (trends served, so scipy.stats is loaded if used)."""
    project = [_rss_mb(pid) for pid in _children(procs[0].pid)]
    floor = [_rss_mb(pid) for pid in _children(procs[1].pid)]
    return {
        "workload": "memory per web worker (RSS after B1-B6)",
        "project": f"{max(project):.0f} MB" if project else "?",
        "floor": f"{max(floor):.0f} MB" if floor else "?",
        "ratio": f"{max(project) / max(floor):.1f}x" if project and floor else "?",
        "statements": "-",
        "check": "max over the 2 workers of each server",
    }


def run_http(args, database_url: str) -> list[dict]:
    if not shutil.which("wrk"):
        sys.exit("bench: wrk not found (apt-get install -y wrk)")
    tokens = seed()
    from django.db import connection

    connection.close()
    procs = start_servers(database_url)
    try:
        for _ in range(6):  # warm both workers of both servers (imports, URL conf, catalogue, connections)
            call(PROJECT_PORT, "POST", "/api/v1/checkins/", tokens["b1"][0], checkin_body())
            call(PROJECT_PORT, "GET", "/api/v1/trends/?weeks=13", tokens["b2"][0])
            call(PROJECT_PORT, "GET", "/api/v1/clients/", tokens["t50"])
            if args.only & {"B1", "B6"}:  # the floor's write path is only warmed for the workloads that use it
                call(FLOOR_PORT, "POST", "/checkins/", tokens["b1"][0], checkin_body())
        rows = []
        for name, workload in (("B1", b1), ("B2", b2), ("B3", b3), ("B6", b6)):
            if name in args.only:
                print(f"running {name} …", flush=True)
                rows.append(workload(tokens, args))
        rows.append(_memory_row(procs))
        return rows
    finally:
        stop_servers(procs)
