"""Production mode: refuses a missing or weak SECRET_KEY and passes `check --deploy`."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STRONG_KEY = "k" * 20 + "-production-test-key-with-enough-entropy-0123456789"
NOTE_KEY = "qnNzUDzJ3X6ZyNn8t9dTT2HkZr2Q5oGQ0ZP0sM0vQ7g="


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DEBUG", "DJANGO_ENV", "ALLOWED_HOSTS", "FIELD_ENCRYPTION_KEYS"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DJANGO_ENV="production", ALLOWED_HOSTS="api.example.org")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_a_short_secret_key():
    result = manage("check", DJANGO_ENV="production", SECRET_KEY="short", ALLOWED_HOSTS="api.example.org")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_passes_check_deploy_at_warning_level():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="api.example.org",
        FIELD_ENCRYPTION_KEYS=NOTE_KEY,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_note_encryption_keys():
    result = manage("check", DJANGO_ENV="production", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="api.example.org")
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr
    result = manage(
        "check",
        DJANGO_ENV="production",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="api.example.org",
        FIELD_ENCRYPTION_KEYS="not-a-key",
    )
    assert result.returncode != 0
    assert "Fernet key" in result.stderr


def test_development_default_fails_check_deploy():
    # The embedded default is for a laptop: check --deploy must flag it, proving the check bites.
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
