"""The README's walk-through runs as written, top to bottom, against a live server.

The ```sh blocks from "## Walk-through with curl" up to the dashboard section are run in one bash
(`set -euo pipefail`) against gunicorn on a fresh SQLite database that was migrated and seeded like
`make run` does (seed_demo, then one scheduler tick), with the README's base URL replaced by the
server's. `curl` is wrapped to record each answer's status; any non-2xx answer fails the test unless
the README announces it: a curl command with the same method and a matching URL whose comments (on its
lines or on the `# →` lines right after it) mention that status."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_BASE = "http://127.0.0.1:8000"

pytestmark = pytest.mark.integration

CURL_WRAPPER = r"""
curl() {
    local body status
    body=$(mktemp)
    status=$(command curl "$@" -o "$body" -w '%{http_code} %{method} %{url_effective}') || {
        echo "curl failed: curl $*" >&2; cat "$body" >&2; rm -f "$body"; return 1; }
    cat "$body"; rm -f "$body"
    printf '%s\n' "$status" >> "$README_STATUS_LOG"
}
"""


def walkthrough_blocks(text: str) -> list[str]:
    start = text.index("## Walk-through with curl")
    end = text.index("### The therapist dashboard")
    return re.findall(r"^```sh\n(.*?)^```", text[start:end], flags=re.M | re.S)


def curl_commands(blocks: list[str]) -> list[tuple[str, re.Pattern, str]]:
    """(method, URL pattern, annotation) of each curl command in the blocks."""
    commands = []
    for block in blocks:
        lines = block.splitlines()
        for i, line in enumerate(lines):
            code = line.split(" # ", 1)[0]
            if line.lstrip().startswith("#") or not re.search(r"(^|[\s(|$])curl\s", code):
                continue
            # The command's lines: up to the next line that starts a new command or comment at column 0.
            j = i + 1
            while j < len(lines) and lines[j][:1] in (" ", "\t"):
                j += 1
            text = "\n".join(lines[i:j])
            annotation = " ".join(part.split(" # ", 1)[1] for part in lines[i:j] if " # " in part)
            while j < len(lines) and lines[j].startswith("# →"):
                annotation += " " + lines[j]
                j += 1
            url = re.search(r"""["']?((?:\$API|http://127\.0\.0\.1:8000)[^\s"']*)""", text[text.index("curl") :])
            if not url:
                continue
            method = re.search(r"-X\s+([A-Z]+)", text)
            verb = method.group(1) if method else ("POST" if re.search(r"\s-d\s", text) else "GET")
            template = url.group(1).replace("$API", f"{README_BASE}/api/v1")
            pattern = re.escape(template)
            pattern = re.sub(r"\\\$\\\{?[A-Za-z_][A-Za-z0-9_]*\\\}?|\\\$[A-Za-z_][A-Za-z0-9_]*", "[^/?&]+", pattern)
            commands.append((verb, re.compile(pattern), annotation))
    return commands


def announced(commands, method: str, url: str, status: str) -> bool:
    return any(
        verb == method and pattern.fullmatch(url) and re.search(rf"\b{status}\b", annotation)
        for verb, pattern, annotation in commands
    )


def test_curl_commands_are_found_with_their_announcements():
    commands = curl_commands(walkthrough_blocks(README.read_text()))
    assert len(commands) >= 40
    assert announced(commands, "DELETE", f"{README_BASE}/api/v1/devices/", "404")
    assert announced(commands, "GET", f"{README_BASE}/api/v1/clients/0b7c/checkins/", "404")
    assert not announced(commands, "GET", f"{README_BASE}/api/v1/clients/0b7c/trends/", "404")
    assert not announced(commands, "DELETE", f"{README_BASE}/api/v1/me/", "400")


def test_readme_walkthrough_runs_against_a_live_server():
    from contract.run import live_server

    blocks = walkthrough_blocks(README.read_text())
    commands = curl_commands(blocks)
    with tempfile.TemporaryDirectory(prefix="readme-") as tmp:
        workdir = Path(tmp)
        with live_server("sqlite", workdir, after_seed=(("run_scheduler", "--once"),)) as (base, _env):
            script = "set -euo pipefail\n" + CURL_WRAPPER + "\n".join(blocks).replace(README_BASE, base)
            status_log = workdir / "statuses.log"
            status_log.touch()
            env = {k: v for k, v in os.environ.items() if k not in ("TOKEN", "API", "CLIENT", "THERAPIST")}
            result = subprocess.run(
                ["bash", "-c", script],
                cwd=workdir,
                env={**env, "README_STATUS_LOG": str(status_log)},
                capture_output=True,
                text=True,
                timeout=300,
            )
            answers = [line.split(" ", 2) for line in status_log.read_text().splitlines()]
    tail = f"\nstdout (end):\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    assert result.returncode == 0, f"the walk-through stopped (exit {result.returncode}){tail}"
    assert len(answers) >= 40, tail
    unannounced = [
        (status, method, url)
        for status, method, url in answers
        if not status.startswith("2") and not announced(commands, method, url.replace(base, README_BASE), status)
    ]
    assert not unannounced, f"non-2xx answers the README does not announce: {unannounced}{tail}"


def test_the_walkthrough_uses_no_gnu_only_date_options():
    """macOS's BSD `date` has no `%:z` and no `-d`/`--date`: the walk-through must not need them."""
    blocks = "\n".join(walkthrough_blocks(README.read_text()))
    assert "$NOW" in blocks
    calls = re.findall(r"\bdate\b[^)|;\n]*", blocks)
    assert not [c for c in calls if "%:z" in c or re.search(r"\s(-d|--date|-I|--iso)", c)], calls
