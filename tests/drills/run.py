"""The drill suite (`make drills`): real services, real faults, counts from the database.

Starts its own PostgreSQL cluster and Redis on private loopback ports (18131, 18132), gunicorn
(18133), a Celery worker and beat from this virtualenv, and the fake FCM; runs each drill with a
deadline; prints a table (drill, expected, observed, lost, duplicated) and exits 1 on any loss,
duplicate or failed expectation. Everything it started is stopped on exit, whatever happens."""

from __future__ import annotations

import atexit
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_PORT, REDIS_PORT, WEB_PORT = 18131, 18132, 18133
BASE = f"http://127.0.0.1:{WEB_PORT}"
PASSWORD = "drill-password-123456"
WORK = Path(tempfile.mkdtemp(prefix="sb-drills-"))
PROCS: dict[str, subprocess.Popen] = {}
PG_BIN = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]) if glob.glob("/usr/lib/postgresql/*/bin") else None
AS_POSTGRES = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def log(msg: str) -> None:
    print(f"[drills {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- processes --------------------------------------------------------------------------------------
def start(name: str, argv: list[str], env: dict | None = None, logfile: str | None = None) -> subprocess.Popen:
    out = open(WORK / f"{logfile or name}.log", "ab")
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env or ENV, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    PROCS[name] = proc
    return proc


def stop(name: str, sig: int = signal.SIGTERM, wait: float = 15) -> None:
    proc = PROCS.pop(name, None)
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(wait)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


def pg_ctl(*args: str) -> None:
    subprocess.run(
        [*AS_POSTGRES, str(PG_BIN / "pg_ctl"), "-D", str(WORK / "pg"), "-w", "-t", "30", *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def cleanup(*_args) -> None:
    for name in list(PROCS):
        stop(name, wait=5)
    if (WORK / "pg" / "postmaster.pid").exists():
        try:
            pg_ctl("stop", "-m", "immediate")
        except Exception as exc:
            log(f"could not stop PostgreSQL: {exc}")
    if not os.getenv("DRILLS_KEEP"):
        shutil.rmtree(WORK, ignore_errors=True)


def on_signal(signum, _frame):
    cleanup()
    sys.exit(128 + signum)


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


def wait_for(predicate, timeout: float, step: float = 0.3) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


# --- environment ------------------------------------------------------------------------------------
def base_env() -> dict:
    from cryptography.fernet import Fernet

    return {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "HOME", "LC_ALL")},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV": "production",
        "SECRET_KEY": "drill-" + uuid.uuid4().hex * 2,
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "TLS_REDIRECT_AT_PROXY": "true",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{PG_PORT}/securebase",
        "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
        "SCHEDULER_TICK_SECONDS": "2",
        "NOTIFICATION_SENDING_LEASE_SECONDS": "6",
        "THROTTLE_USER": "100000/min",
        "VAR_DIR": str(WORK / "var"),
        "GUNICORN_BIND": f"127.0.0.1:{WEB_PORT}",
        "GUNICORN_WORKERS": "3",
        "GUNICORN_ACCESS_LOG": str(WORK / "access.log"),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


ENV: dict = {}


def start_services() -> None:
    (WORK / "pg").mkdir()
    if AS_POSTGRES:
        shutil.chown(WORK, "postgres")
        shutil.chown(WORK / "pg", "postgres")
    subprocess.run(
        [*AS_POSTGRES, str(PG_BIN / "initdb"), "-D", str(WORK / "pg"), "-U", "postgres", "-A", "trust"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    opts = f"-p {PG_PORT} -k {WORK} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
    pg_ctl("start", "-o", opts, "-l", str(WORK / "pg.log"))
    subprocess.run(
        [*AS_POSTGRES, str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "securebase"],
        check=True,
    )
    start_redis()
    subprocess.run([str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=ENV, check=True)
    start_fcm()
    start("web", [str(BIN / "gunicorn"), "config.wsgi:application", "-c", "config/gunicorn.py"])
    start_worker()
    start_beat()
    wait_port(WEB_PORT)


def start_redis() -> None:
    start(
        "redis", ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    )
    wait_port(REDIS_PORT)


def start_fcm() -> None:
    settings_file = WORK / "fcm.json"
    env = {**ENV, "FAKE_FCM_DELAY": "0.25"}
    start("fcm", [str(BIN / "python"), "tests/drills/fcm_server.py", str(settings_file), str(WORK / "pushes.log")], env)
    wait_for(settings_file.exists, 30)
    ENV.update(json.loads(settings_file.read_text()))
    os.environ.update(json.loads(settings_file.read_text()))


def start_worker() -> None:
    start(
        "worker",
        [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
            "-n",
            f"drill-{uuid.uuid4().hex[:6]}@%h",
        ],
        logfile="worker",
    )


def start_beat() -> None:
    start(
        "beat",
        [
            str(BIN / "celery"),
            "-A",
            "config",
            "beat",
            "--loglevel",
            "WARNING",
            "--schedule",
            str(WORK / "beat-schedule"),
        ],
        logfile="beat",
    )


# --- helpers on the database and the API ------------------------------------------------------------
def pushes() -> list[tuple[float, str]]:
    path = WORK / "pushes.log"
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        at, _, token = line.partition(" ")
        rows.append((float(at), token))
    return rows


def push_counts(prefix: str) -> Counter:
    return Counter(token for _, token in pushes() if token.startswith(prefix))


def fresh_db() -> None:
    from django.db import connections

    connections.close_all()


def make_user(email: str, tz: str = "UTC"):
    from tracker.models import User

    return User.objects.create_user(email=email, password=PASSWORD, timezone=tz)


def token_for(user) -> str:
    from tracker.accounts.second_factor import user_login

    return user_login(email=user.email, password=PASSWORD, device_name="drill").token


def due_push_users(prefix: str, count: int, *, slot: datetime | None = None, quiet=None, tz: str = "UTC") -> list:
    """Users with a push device `<prefix><i>` and a schedule due at `slot` (default: now)."""
    from notifications.models import ReminderSchedule
    from notifications.services.devices import device_register
    from notifications.services.schedules import schedule_update

    slot = (slot or datetime.now(UTC)).replace(second=0, microsecond=0)
    users = []
    for i in range(count):
        user = make_user(f"{prefix}{i}-{uuid.uuid4().hex[:6]}@drill.test", tz)
        device_register(user=user, platform="android", token=f"{prefix}{i}")
        local = slot.astimezone(__import__("zoneinfo").ZoneInfo(tz))
        schedule_update(
            user=user,
            times=[local.strftime("%H:%M")],
            weekdays=[1, 2, 3, 4, 5, 6, 7],
            quiet_start=quiet[0] if quiet else None,
            quiet_end=quiet[1] if quiet else None,
            skip_if_done=False,
            channels=["inbox", "push"],
            paused_until=None,
            enabled=True,
            now=slot - timedelta(hours=1),
        )
        ReminderSchedule.objects.filter(user=user).update(next_due_at=slot)
        users.append(user)
    return users


def dispatch_states(users) -> Counter:
    from notifications.models import Dispatch

    fresh_db()
    return Counter(Dispatch.objects.filter(delivery__user__in=users).values_list("status", flat=True))


def settled(users) -> bool:
    states = dispatch_states(users)
    return sum(states.values()) == len(users) and not (states["pending"] or states["sending"])


def checkin_body() -> dict:
    from tests.entries.entry_factories import checkin_body as body

    return body(note="")


@dataclass
class Row:
    drill: str
    expected: str
    observed: str
    lost: int
    duplicated: int
    ok: bool


def warm_up() -> None:
    """First requests in a fresh gunicorn worker import the app's modules (seconds on a busy machine):
    done before any drill measures latency."""
    user = make_user(f"warm-{uuid.uuid4().hex[:6]}@drill.test")
    post_checkins(token_for(user), 24, threads=6)


# --- the drills -------------------------------------------------------------------------------------
def post_checkins(token: str, count: int, *, threads: int, fault=None, fault_at: int = 0, retry_503=False):
    import requests

    results: list[tuple[str, int, float]] = []
    lock = threading.Lock()
    queue = [checkin_body() for _ in range(count)]
    fired = threading.Event()

    def worker():
        session = requests.Session()
        while True:
            with lock:
                if not queue:
                    return
                body = queue.pop()
                index = count - len(queue)
            if fault and index >= fault_at and not fired.is_set():
                fired.set()
                threading.Thread(target=fault, daemon=True).start()
            began = time.monotonic()
            status = 0
            for _ in range(40 if retry_503 else 1):
                try:
                    status = session.post(
                        f"{BASE}/api/v1/checkins/", json=body, timeout=10, headers={"Authorization": f"Token {token}"}
                    ).status_code
                except requests.RequestException:
                    status = 0
                if not retry_503 or status not in (0, 503):
                    break
                time.sleep(0.5)
            with lock:
                results.append((body["id"], status, time.monotonic() - began))
            time.sleep(0.02)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(120)
    return results


def stored(ids) -> int:
    from tracker.models import CheckIn

    fresh_db()
    return CheckIn.objects.filter(id__in=list(ids)).count()


def drill_redis_down() -> Row:
    user = make_user(f"redis-{uuid.uuid4().hex[:6]}@drill.test")
    token = token_for(user)

    def outage():
        stop("redis", signal.SIGKILL)
        time.sleep(8)
        start_redis()

    results = post_checkins(token, 240, threads=4, fault=outage, fault_at=30)
    wait_for(lambda: "redis" in PROCS and PROCS["redis"].poll() is None, 20)
    refused = [r for r in results if not 200 <= r[1] < 300]
    latencies = sorted(r[2] for r in results)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    ids = {r[0] for r in results}
    rows = stored(ids)
    lost = len(refused) + (len({r[0] for r in results if 200 <= r[1] < 300}) - rows)
    return Row(
        "redis down during writes (8 s)",
        "240 stored, 0 refused, p99 < 1 s",
        f"{rows} stored, {len(refused)} refused, p99 {p99:.2f}s",
        lost,
        max(0, rows - len(ids)),
        lost == 0 and p99 < 1.0,
    )


def drill_pg_restart() -> Row:
    user = make_user(f"pg-{uuid.uuid4().hex[:6]}@drill.test")
    token = token_for(user)
    statuses: Counter = Counter()

    def restart():
        pg_ctl(
            "restart",
            "-m",
            "fast",
            "-o",
            f"-p {PG_PORT} -k {WORK} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
            "-l",
            str(WORK / "pg.log"),
        )

    # Watch every status the clients see (including the retried 503s) through the access log.
    before = (WORK / "access.log").read_text().count("\n") if (WORK / "access.log").exists() else 0
    results = post_checkins(token, 150, threads=3, fault=restart, fault_at=30, retry_503=True)
    time.sleep(1)
    for line in (WORK / "access.log").read_text().splitlines()[before:]:
        if "/api/v1/checkins/" in line:
            statuses[line.split('"')[2].split()[0]] += 1
    ids = {r[0] for r in results}
    rows = stored(ids)
    lost = len(ids) - rows
    fives = statuses["500"]
    observed = f"{rows} stored; answers {dict(sorted(statuses.items()))}"
    return Row(
        "postgres restart under load",
        "150 stored, 503+Retry-After, no 500",
        observed,
        lost,
        max(0, rows - len(ids)),
        lost == 0 and fives == 0,
    )


def drill_kill9() -> Row:
    users = due_push_users("ok-k9-", 24)
    if not wait_for(lambda: sum(push_counts("ok-k9-").values()) >= 4, 40):
        return Row("kill -9 mid-dispatch", "each push once or unknown", "dispatch never started", 24, 0, False)
    stop("worker", signal.SIGKILL)
    start_worker()
    settled_ok = wait_for(lambda: settled(users), 90, step=1)
    counts = push_counts("ok-k9-")
    from notifications.models import Dispatch

    states = dispatch_states(users)
    dup = sum(n - 1 for n in counts.values() if n > 1)
    by_token = {
        d.device.token: d.status for d in Dispatch.objects.filter(delivery__user__in=users).select_related("device")
    }
    lost = sum(1 for tok, st in by_token.items() if counts[tok] == 0 and st != "unknown")
    misreported = sum(1 for tok, st in by_token.items() if st == "sent" and counts[tok] == 0)
    return Row(
        "kill -9 mid-dispatch",
        "24 pushed once (or unknown), 0 resent",
        f"{len(counts)} pushed; ledger {dict(states)}; misreported {misreported}",
        lost,
        dup,
        settled_ok and lost == 0 and dup == 0 and misreported == 0,
    )


def drill_two_schedulers() -> Row:
    from notifications.models import Delivery

    users = due_push_users("ok-2s-", 30)
    procs = [
        subprocess.Popen(
            [str(BIN / "python"), "manage.py", "run_scheduler", "--once"],
            cwd=ROOT,
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    for p in procs:
        p.wait(120)
    settled_ok = wait_for(lambda: settled(users), 60, step=1)
    fresh_db()
    deliveries = Counter(Delivery.objects.filter(user__in=users, kind="nudge").values_list("user_id", flat=True))
    counts = push_counts("ok-2s-")
    dup = sum(n - 1 for n in deliveries.values() if n > 1) + sum(n - 1 for n in counts.values() if n > 1)
    lost = len(users) - len(counts)
    return Row(
        "two schedulers + beat at once",
        "30 nudges, 30 pushes",
        f"{sum(deliveries.values())} nudges, {sum(counts.values())} pushes",
        lost,
        dup,
        settled_ok and lost == 0 and dup == 0,
    )


def drill_quiet_after_outage() -> Row:
    from notifications.models import Delivery

    stop("beat")
    now = datetime.now(UTC)
    slot = now - timedelta(minutes=10)
    quiet = (
        (now - timedelta(minutes=5)).time().replace(second=0, microsecond=0),
        (now + timedelta(minutes=60)).time().replace(second=0, microsecond=0),
    )
    quiet_users = due_push_users("ok-qh-", 3, slot=slot, quiet=quiet)
    control = due_push_users("ok-qc-", 3, slot=slot)
    time.sleep(3)  # the scheduler is down: nothing happens
    start_beat()
    wait_for(lambda: Delivery.objects.filter(user__in=quiet_users + control).count() >= 6, 40)
    wait_for(lambda: settled(control), 40)
    fresh_db()
    reasons = Counter(Delivery.objects.filter(user__in=quiet_users).values_list("skip_reason", flat=True))
    inside = sum(push_counts("ok-qh-").values())
    control_sent = len(push_counts("ok-qc-"))
    return Row(
        "scheduler down, then quiet hours",
        "0 sent in quiet hours; 3 control sent",
        f"{inside} sent in quiet hours ({dict(reasons)}); {control_sent} control sent",
        3 - control_sent,
        0,
        inside == 0 and reasons.get("quiet") == 3 and control_sent == 3,
    )


def drill_erasure_during_tick() -> Row:
    import requests

    users = due_push_users("ok-er-", 24)
    erased = users[1::2]
    tokens = {u.pk: token_for(u) for u in erased}
    if not wait_for(lambda: sum(push_counts("ok-er-").values()) >= 2, 40, step=0.1):
        return Row("erasure during a tick", "no push after 204", "dispatch never started", 24, 0, False)
    answered: dict[str, float] = {}
    statuses: Counter = Counter()

    def erase(user):
        r = requests.delete(
            f"{BASE}/api/v1/me",
            json={"password": PASSWORD},
            headers={"Authorization": f"Token {tokens[user.pk]}"},
            timeout=60,
        )
        statuses[r.status_code] += 1
        answered[f"ok-er-{users.index(user)}"] = time.time()

    threads = [threading.Thread(target=erase, args=(u,)) for u in erased]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    kept = [u for u in users if u not in erased]
    wait_for(lambda: settled(kept), 60, step=1)
    time.sleep(2)
    late = [(at, tok) for at, tok in pushes() if tok in answered and at > answered[tok]]
    counts = push_counts("ok-er-")
    kept_tokens = {f"ok-er-{users.index(u)}" for u in kept}
    states = dispatch_states(kept)
    lost = sum(1 for tok in kept_tokens if counts[tok] == 0) + sum(v for k, v in states.items() if k != "sent")
    dup = sum(n - 1 for n in counts.values() if n > 1)
    return Row(
        "erasure during a tick",
        "12x 204; 0 pushes after 204; 12 others sent",
        f"DELETE {dict(statuses)}; {len(late)} after 204; others {dict(states)}",
        lost,
        dup,
        not late and statuses == Counter({204: len(erased)}) and lost == 0 and dup == 0,
    )


def drill_concurrent_retries() -> Row:
    import requests

    user = make_user(f"retry-{uuid.uuid4().hex[:6]}@drill.test")
    token = token_for(user)
    body = checkin_body()
    barrier = threading.Barrier(20)
    statuses: Counter = Counter()

    def send():
        barrier.wait(10)
        r = requests.post(
            f"{BASE}/api/v1/checkins/", json=body, headers={"Authorization": f"Token {token}"}, timeout=30
        )
        statuses[r.status_code] += 1

    threads = [threading.Thread(target=send) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    rows = stored([body["id"]])
    ok = sum(v for k, v in statuses.items() if 200 <= k < 300)
    return Row(
        "20 concurrent retries of one write",
        "1 stored, 20 answered 2xx",
        f"{rows} stored, answers {dict(statuses)}",
        1 - rows if rows < 1 else 0,
        max(0, rows - 1),
        rows == 1 and ok == 20,
    )


def drill_forged_xff() -> Row:
    import requests

    codes: Counter = Counter()
    for i in range(65):
        r = requests.post(
            f"{BASE}/api/v1/auth/login",
            json={"email": f"guess{i}@drill.test", "password": "wrong-password-1"},
            headers={"X-Forwarded-For": f"10.{i}.{i % 7}.{i % 251}"},
            timeout=10,
        )
        codes[r.status_code] += 1
    return Row(
        "65 logins, rotating X-Forwarded-For",
        "429 after the 20/min limit",
        f"answers {dict(codes)}",
        0,
        0,
        codes[429] >= 40 and codes[500] == 0,
    )


DRILLS = [
    drill_redis_down,
    drill_pg_restart,
    drill_concurrent_retries,
    drill_forged_xff,
    drill_two_schedulers,
    drill_kill9,
    drill_quiet_after_outage,
    drill_erasure_during_tick,
]


def main() -> int:
    if PG_BIN is None or not shutil.which("redis-server"):
        print("drills need PostgreSQL binaries (/usr/lib/postgresql/*/bin) and redis-server", file=sys.stderr)
        return 2
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    ENV.update(base_env())
    os.environ.update(ENV)
    began = time.monotonic()
    log(f"starting PostgreSQL :{PG_PORT}, Redis :{REDIS_PORT}, gunicorn :{WEB_PORT}, worker, beat, fake FCM")
    start_services()
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    warm_up()
    rows: list[Row] = []
    only = set(sys.argv[1:])
    for drill in DRILLS:
        if only and drill.__name__.removeprefix("drill_") not in only:
            continue
        log(f"{drill.__name__} …")
        t0 = time.monotonic()
        try:
            row = drill()
        except Exception as exc:
            row = Row(
                drill.__name__.removeprefix("drill_"), "runs", f"crashed: {type(exc).__name__}: {exc}"[:90], 0, 0, False
            )
        log(f"{drill.__name__}: {'ok' if row.ok else 'FAIL'} in {time.monotonic() - t0:.1f}s")
        rows.append(row)
    print_table(rows)
    failed = [r for r in rows if not r.ok or r.lost or r.duplicated]
    log(f"{len(rows) - len(failed)}/{len(rows)} drills passed in {time.monotonic() - began:.0f}s")
    if failed:
        for name in ("web", "worker", "beat"):
            path = WORK / f"{name}.log"
            if path.exists():
                print(f"--- tail of {name}.log\n" + "\n".join(path.read_text().splitlines()[-15:]))
    return 1 if failed else 0


def print_table(rows: list[Row]) -> None:
    headers = ("drill", "expected", "observed", "lost", "duplicated", "result")
    data = [(r.drill, r.expected, r.observed, str(r.lost), str(r.duplicated), "ok" if r.ok else "FAIL") for r in rows]
    widths = [max(len(h), *(len(d[i]) for d in data)) for i, h in enumerate(headers)]
    line = "+".join("-" * (w + 2) for w in widths)
    print("\n" + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print(line)
    for d in data:
        print(" | ".join(c.ljust(w) for c, w in zip(d, widths, strict=True)))
    print(flush=True)


if __name__ == "__main__":
    sys.exit(main())
