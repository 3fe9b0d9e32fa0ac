"""`make bench` / `python -m bench`: all six workloads, project vs equal-work floor, one table.

    python -m bench                      # default scale: minutes on a laptop
    python -m bench --users 100000       # B4/B5 at the issue's target scale
    python -m bench --only B1,B6 --rounds 3 --seconds 10

B1-B3, B6 are HTTP (bench/http.py: gunicorn, 2 sync workers, DEBUG off, wrk); B4 and B5 run the
existing job benchmarks (bench/summaries.py, bench/reminders.py) in subprocesses and read their
figures. Everything runs in scratch databases next to `sb_bench` (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/sb_bench) and Redis db 9; nothing else is touched. Rounds alternate
project and floor (HTTP: the order flips every round); medians are printed. This is a benchmark, not a
test: nothing asserts on timings. The `check` column says how each floor's result was compared with
the project's, and `note` where a floor does less work than the project."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from urllib.parse import urlparse, urlunparse

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/sb_bench"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="B1,B2,B3,B4,B5,B6", help="Comma-separated workloads.")
    parser.add_argument("--rounds", type=int, default=2, help="Alternating project/floor rounds.")
    parser.add_argument("--seconds", type=float, default=5, help="wrk duration per HTTP round.")
    parser.add_argument("--sync-requests", type=int, default=3, help="B6 batches per round and side.")
    parser.add_argument("--flat-requests", type=int, default=5, help="B3 5-vs-200-client requests each.")
    parser.add_argument("--users", type=int, default=10_000, help="B4/B5 users (issue target: 100000).")
    args = parser.parse_args(argv)
    args.only = {name.strip().upper() for name in args.only.split(",")}
    return args


def _ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = urlunparse(parsed._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _script(module: str, argv: list[str], env: dict) -> str:
    result = subprocess.run([sys.executable, "-m", module, *argv], env=env, capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"{module} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _number(pattern: str, text: str) -> float:
    return float(re.search(pattern, text).group(1))


def b4(args, env) -> dict:
    # One process, alternating floor/job rounds inside it (bench.summaries prints medians).
    out = _script("bench.summaries", ["--users", str(args.users), "--floor-runs", str(max(args.rounds, 2))], env)
    floor = _number(r"floor \(INSERT.*?\): ([\d.]+)s", out)
    job = _number(r"summaries_due_job: .*: ([\d.]+)s", out)
    rerun = _number(r"re-run of the same week .*: ([\d.]+)s", out)
    return {
        "workload": f"B4 weekly summaries, {args.users} users",
        "project": f"{job:.2f} s (re-run {rerun:.2f} s)",
        "floor": f"{floor:.2f} s",
        "ratio": f"{job / floor:.1f}x time (re-run {rerun / floor:.1f}x)",
        "statements": "6 per 1000-user chunk (re-run: 3)",
        "check": "same (user, week) rows and check-in counts, compared after every round",
        "note": "floor does less: check-in means only (no regulation figures, primary-instrument, "
        "week-over-week or tendency rules), no claiming: a lower bound",
    }


def b5(args, env) -> dict:
    # One process, alternating floor/tick rounds inside it, rows compared after each round.
    out = _script("bench.reminders", ["--users", str(args.users), "--rounds", str(max(args.rounds, 2))], env)
    floor = _number(r"floor \(1 statement\)\s+([\d.]+)s", out)
    tick = _number(r"\ntick\s+([\d.]+)s", out)
    statements = re.search(r"tick statements\s+(.*)", out).group(1).strip()
    return {
        "workload": f"B5 reminder tick, {args.users} due",
        "project": f"{tick:.2f} s",
        "floor": f"{floor:.2f} s",
        "ratio": f"{tick / floor:.1f}x time",
        "statements": statements,
        "check": "same deliveries, inbox items, dispatches and schedule state, row for row, every round",
        "note": "",
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    _ensure_database(url)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
        "DEBUG": "false",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    rows = []
    if args.only & {"B1", "B2", "B3", "B6"}:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from bench.http import run_http

        rows += run_http(args, url)
    if "B4" in args.only:
        print("running B4 …", flush=True)
        rows.append(b4(args, env))
    if "B5" in args.only:
        print("running B5 …", flush=True)
        rows.append(b5(args, env))
    rows.sort(key=lambda row: row["workload"])
    print_table(rows)
    return 0


def print_table(rows) -> None:
    columns = ["workload", "project", "floor", "ratio", "statements"]
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print()
    print(" | ".join(c.ljust(widths[c]) for c in columns))
    print("-+-".join("-" * widths[c] for c in columns))
    for row in rows:
        print(" | ".join(str(row[c]).ljust(widths[c]) for c in columns))
    print()
    for row in rows:
        print(f"{row['workload'].split()[0]} check: {row['check']}" + (f"; {row['note']}" if row.get("note") else ""))
    print("statements: project per request or batch / floor (B5: the tick's own count)")
    with open("/proc/loadavg") as handle:
        print("load average:", " ".join(handle.read().split()[:3]), f"({os.cpu_count()} cores)")


if __name__ == "__main__":
    raise SystemExit(main())
