"""The worker's pool processes run the tick; its main process must serve what they measured.

Runs in a subprocess, because prometheus-client picks multiprocess mode when the metrics module is
imported (PROMETHEUS_MULTIPROC_DIR must be set first): a forked child records a tick job and a
delivery, the parent serves them with `tracker.common.metrics.serve`, and a real HTTP GET reads them."""

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import multiprocessing, os, sys, urllib.request
    import django
    django.setup()
    from tracker.common import metrics

    def child():
        metrics.tick_job_observe(job="notifications.jobs.reminders_job", seconds=0.2, failed=False)
        metrics.dispatch_observe(channel="push", outcome="ok")

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(30)
    port = int(sys.argv[1])
    metrics.serve(port=port, addr="127.0.0.1")
    print(urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read().decode())
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_worker_serves_metrics_its_pool_processes_recorded(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "VAR_DIR": str(tmp_path / "var"),
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    body = result.stdout
    assert 'securebase_tick_job_duration_seconds_count{job="notifications.jobs.reminders_job"} 1.0' in body
    assert 'securebase_deliveries_total{channel="push",outcome="ok"} 1.0' in body
