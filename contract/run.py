"""Contract checks against a live server (see bin/contract-tests and docs/mobile.md).

For each database: a fresh database, migrated and seeded (seed_demo: a client with history who shares
with a verified therapist), a gunicorn server on a free loopback port, then schemathesis with every
check as the client and as the therapist (bounded examples, fixed seed). Then, on the first server,
the client checks: spectral (spectral:oas, no errors) over the served schema, the TypeScript client
(openapi-typescript) compiling contract/clients/typescript/sample.ts under tsc --strict and running it,
and the Python client (openapi-python-client) running contract/clients/python_flow.py. The node tools
are pinned in .ci/node (`npm ci --prefix .ci/node`). Every
server is stopped on exit; any finding fails the run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NODE = ROOT / ".ci" / "node"
PG_BASE = os.getenv("CONTRACT_PG_URL", "postgres://postgres@127.0.0.1:5432")
MAX_EXAMPLES = os.getenv("CONTRACT_MAX_EXAMPLES", "8")
SEED = os.getenv("CONTRACT_SEED", "12012")
CLIENT = ("client@demo.securebase.local", "demo-client-pass-1")
THERAPIST = ("therapist@demo.securebase.local", "demo-therapist-pass-1")
# Operations that end the session under test (they have their own tests and the Python client flow).
EXCLUDE_OPERATION_IDS = ["deleteAccount", "logout", "logoutAll"]


def log(message: str) -> None:
    print(f"\n--- contract: {message}", flush=True)


def free_port() -> int:
    wanted = os.getenv("CONTRACT_PORT")
    if wanted:
        return int(wanted)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(cmd: list[str], env: dict | None = None, timeout: int = 600, cwd: Path = ROOT) -> None:
    print("$", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, check=True, timeout=timeout)


def request(url: str, body: dict | None = None, token: str | None = None, method: str | None = None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method or ("POST" if data else "GET"))
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Token {token}")
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.loads(response.read() or b"null")


@contextmanager
def database(kind: str, workdir: Path):
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'contract.sqlite3'}"
        return
    import psycopg

    name = f"sb_contract_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_BASE}/{name}"
    finally:
        with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def live_server(kind: str, workdir: Path, after_seed: tuple[tuple[str, ...], ...] = ()):
    """A migrated, seeded database and gunicorn on a free loopback port: yields (base URL, env).
    `after_seed`: further manage.py commands to run before serving (e.g. one scheduler tick)."""
    with database(kind, workdir) as url:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DEBUG": "true",  # the harsher mode: DEBUG pages must never leak into the API
            "THROTTLE_USER": "100000/min",
            "THROTTLE_AUTH": "100000/min",
            "PYTHONUNBUFFERED": "1",
            "GUNICORN_TIMEOUT": "60",
        }
        if kind == "sqlite":
            env.pop("REDIS_URL", None)
        else:
            env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")
        run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env=env)
        run([sys.executable, "manage.py", "seed_demo"], env=env)
        for command in after_seed:
            run([sys.executable, "manage.py", *command], env=env)
        port = free_port()
        # SQLite serves one writer at a time: one worker, one thread, so no request waits on a lock.
        workers = ["--workers", "1", "--threads", "1"] if kind == "sqlite" else ["--workers", "2", "--threads", "2"]
        log_file = open(workdir / f"server-{kind}.log", "w")
        server = subprocess.Popen(
            [BIN / "gunicorn", "config.wsgi", "-c", "config/gunicorn.py", "--bind", f"127.0.0.1:{port}", *workers],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(60):
                if server.poll() is not None:
                    raise SystemExit(f"server exited early; see {log_file.name}")
                try:
                    urllib.request.urlopen(f"{base}/api/schema/?format=json", timeout=5).read()
                    break
                except OSError:
                    time.sleep(0.5)
            else:
                raise SystemExit("server did not start within 30 s")
            yield base, env
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
            log_file.close()
            errors = [line for line in (workdir / f"server-{kind}.log").read_text().splitlines() if "Traceback" in line]
            if errors:
                print((workdir / f"server-{kind}.log").read_text()[-5000:])
                raise SystemExit(f"the {kind} server logged {len(errors)} tracebacks")


# seed_demo's authenticator key for the demo therapist (tracker/management/commands/seed_demo.py).
DEMO_TOTP_KEY = bytes.fromhex("3132333435363738393031323334353637383930")


def login(base: str, who: tuple[str, str]) -> str:
    """The real two-step login: the password, then (for the therapist) a TOTP code computed from the
    demo key with django-otp's RFC 6238 implementation, as an authenticator app would."""
    from django_otp.oath import totp

    email, password = who
    body = request(f"{base}/api/v1/auth/login/", {"email": email, "password": password, "device_name": "contract"})
    if body.get("mfa_required"):
        code = f"{totp(DEMO_TOTP_KEY):06d}"
        body = request(f"{base}/api/v1/auth/login/mfa/", {"mfa_token": body["mfa_token"], "code": code})
    return body["token"]


def schemathesis(base: str, token: str, label: str, workdir: Path) -> None:
    cmd = [
        BIN / "st",
        "--config-file",
        ROOT / "contract" / "schemathesis.toml",
        "run",
        f"{base}/api/schema/?format=json",
        "--url",
        base,
        # Every check runs (Schemathesis' default); no --checks flag, which would override the
        # per-operation settings in contract/schemathesis.toml.
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        SEED,
        "--workers",
        "1",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--request-timeout",
        "30",
        "--max-time",
        os.getenv("CONTRACT_MAX_TIME", "150"),
        "--suppress-health-check",
        "all",
        "--header",
        f"Authorization: Token {token}",
        "--report",
        "junit",
        "--report-dir",
        workdir / f"report-{label}",
    ]
    for operation_id in EXCLUDE_OPERATION_IDS:
        cmd += ["--exclude-operation-id", operation_id]
    log(f"schemathesis as the {label}")
    run(cmd, timeout=600)


def node_tool(name: str) -> Path:
    tool = NODE / "node_modules" / ".bin" / name
    if not tool.exists():
        raise SystemExit(f"{tool} is missing: run `npm ci --prefix .ci/node` first")
    return tool


def register(base: str, label: str) -> str:
    email = f"{label}-{uuid.uuid4().hex[:12]}@example.org"
    body = {"email": email, "password": "a-long-contract-passphrase", "device_name": label}
    return request(f"{base}/api/v1/auth/register/", body)["token"]


def spectral(schema: Path) -> None:
    """spectral:oas over the served schema: any error fails; warnings are listed by rule."""
    log("spectral lint (spectral:oas) of the served schema")
    out = subprocess.run(
        [node_tool("spectral"), "lint", "-r", ROOT / "contract" / "spectral.yaml", schema, "-f", "json", "-q"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    findings = json.loads(out.stdout or "[]")
    counts: dict[tuple[str, str], int] = {}
    for finding in findings:
        key = (("error", "warning", "info", "hint")[finding["severity"]], finding["code"])
        counts[key] = counts.get(key, 0) + 1
    for (severity, code), count in sorted(counts.items()):
        print(f"  {severity:7} {code}: {count}")
    errors = [f for f in findings if f["severity"] == 0]
    for finding in errors:
        print(f"  error at {'.'.join(map(str, finding['path']))}: {finding['message']}")
    if errors or out.returncode not in (0, 1) or (out.returncode == 1 and not findings):
        print(out.stderr[-3000:])
        raise SystemExit(f"spectral: {len(errors)} errors (exit {out.returncode})")


def typescript_client(base: str, schema: Path) -> None:
    """openapi-typescript from the served schema; the sample compiles under tsc --strict and runs."""
    log("TypeScript client (openapi-typescript + openapi-fetch): tsc --strict, then the sample on the live server")
    build = NODE / "build" / "ts"  # inside .ci/node so that node_modules resolve
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    for name in ("sample.ts", "tsconfig.json"):
        shutil.copy(ROOT / "contract" / "clients" / "typescript" / name, build / name)
    (build / "package.json").write_text('{"private": true, "type": "module"}\n')
    run([node_tool("openapi-typescript"), schema, "-o", build / "api.d.ts"], timeout=180)
    run([node_tool("tsc"), "-p", build], timeout=300)
    run(["node", build / "dist" / "sample.js", base, register(base, "typescript")], timeout=120)


def python_client(base: str, schema: Path, workdir: Path) -> None:
    """openapi-python-client from the served schema; the phone flow runs on the live server."""
    log("Python client (openapi-python-client): generate, then register → check-in → sync → erase")
    out = workdir / "python-client"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    config = workdir / "openapi-python-client.yaml"
    # The session report is a PDF: a binary download for the generated client (its generator knows
    # octet-stream, not every binary media type).
    config.write_text("post_hooks: []\ncontent_type_overrides:\n  application/pdf: application/octet-stream\n")
    cmd = [BIN / "openapi-python-client", "generate", "--path", schema, "--meta", "none"]
    generated = subprocess.run(
        [str(c) for c in [*cmd, "--output-path", out / "securebase_client", "--config", config]],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    print(generated.stdout[-3000:], generated.stderr[-3000:])
    if generated.returncode != 0 or "Warning" in generated.stdout + generated.stderr:
        raise SystemExit("openapi-python-client: the schema did not generate cleanly")
    run([sys.executable, ROOT / "contract" / "clients" / "python_flow.py", base, out], timeout=120)


def client_checks(base: str, workdir: Path) -> None:
    schema = workdir / "schema.json"
    schema.write_bytes(urllib.request.urlopen(f"{base}/api/schema/?format=json", timeout=30).read())
    spectral(schema)
    typescript_client(base, schema)
    python_client(base, schema, workdir)


def main(argv: list[str]) -> int:
    """bin/contract-tests [--clients-only] [sqlite] [postgres]: schemathesis on each database; the
    client checks (spectral, TypeScript, Python) on the first one."""
    clients_only = "--clients-only" in argv
    kinds = [a for a in argv if a != "--clients-only"] or ["sqlite", "postgres"]
    workdir = Path(tempfile.mkdtemp(prefix="contract-"))
    started = time.monotonic()
    try:
        for index, kind in enumerate(kinds):
            log(f"live server on {kind}")
            with live_server(kind, workdir) as (base, _env):
                if not clients_only:
                    for label, who in (("client", CLIENT), ("therapist", THERAPIST)):
                        schemathesis(base, login(base, who), f"{kind}-{label}", workdir)
                if index == 0:
                    client_checks(base, workdir)
        log(f"all contract checks passed in {time.monotonic() - started:.0f} s")
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
