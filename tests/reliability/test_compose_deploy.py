"""Compose starts the first time and its defaults pass `check --deploy` (issue 13)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent


def services() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def test_web_worker_and_beat_wait_for_migrate_to_complete_and_restart():
    svc = services()
    for name in ("web", "worker", "beat"):
        assert svc[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        assert svc[name]["restart"] == "unless-stopped"
    assert "/health/" in " ".join(svc["web"]["healthcheck"]["test"])


def test_allowed_hosts_default_admits_the_documented_url():
    default = re.search(r"\$\{ALLOWED_HOSTS:-([^}]*)\}", services()["web"]["environment"]["ALLOWED_HOSTS"]).group(1)
    assert {"localhost", "127.0.0.1"} <= set(default.split(","))


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", "db.sqlite3", ".git", "var", ".env"} <= ignored


def compose_default(value: str) -> str:
    match = re.fullmatch(r"\$\{\w+:-([^}]*)\}", str(value))
    return match.group(1) if match else str(value)


def test_the_compose_defaults_pass_check_deploy():
    env = {k: compose_default(v) for k, v in services()["web"]["environment"].items()}
    env.update(
        SECRET_KEY="compose-check-" + "k" * 60,
        FIELD_ENCRYPTION_KEYS="tmbIKJ3v_5a8GgvDbKqT8Xcpz8lnV3jM5JmfJ2Hj6nU=",
        PATH=os.environ.get("PATH", "/usr/bin:/bin"),
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
