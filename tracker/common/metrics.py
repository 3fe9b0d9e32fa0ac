"""Prometheus metrics (prometheus-client): what an operator graphs and alerts on (docs/operations.md).

Labels never carry health data or identifiers: a route pattern (not a path), a job's dotted name, a
channel, an outcome, an error kind. With several processes (gunicorn workers, the Celery worker),
set PROMETHEUS_MULTIPROC_DIR to a folder they share and /metrics aggregates them."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)

REQUEST_LATENCY = Histogram(
    "securebase_http_request_duration_seconds",
    "API and dashboard request latency by route pattern.",
    ["route", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TICK_DURATION = Histogram(
    "securebase_tick_job_duration_seconds",
    "Duration of each scheduler-tick job.",
    ["job"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
TICK_FAILURES = Counter("securebase_tick_job_failures_total", "Scheduler-tick jobs that raised.", ["job"])
DUE_BACKLOG = Gauge(
    "securebase_reminders_due_backlog",
    "Reminder schedules already due when the tick started (should be ~0 between ticks).",
    multiprocess_mode="livemax",
)
DELIVERIES = Counter("securebase_deliveries_total", "Dispatch outcomes by channel.", ["channel", "outcome"])
PUSH_ERRORS = Counter("securebase_push_errors_total", "Transport errors by kind.", ["channel", "kind"])
SUMMARY_JOB_DURATION = Histogram(
    "securebase_summary_job_duration_seconds",
    "Duration of the weekly-summary jobs.",
    ["job"],
    buckets=(0.1, 0.5, 1, 5, 10, 30, 60, 300),
)


def error_kind(error: str) -> str:
    """A bounded label from a transport error message (never the message itself)."""
    lowered = error.lower()
    for kind in ("timeout", "unregistered", "invalid", "quota", "unavailable", "auth", "connection"):
        if kind in lowered:
            return kind
    return "other"


def dispatch_observe(*, channel: str, outcome: str, error: str = "") -> None:
    DELIVERIES.labels(channel=channel, outcome=outcome).inc()
    if outcome not in ("ok", "disabled"):
        PUSH_ERRORS.labels(channel=channel, kind=error_kind(error)).inc()


def tick_job_observe(*, job: str, seconds: float, failed: bool) -> None:
    TICK_DURATION.labels(job=job).observe(seconds)
    if "summar" in job:
        SUMMARY_JOB_DURATION.labels(job=job).observe(seconds)
    if failed:
        TICK_FAILURES.labels(job=job).inc()


def registry() -> CollectorRegistry:
    """What to expose: every process's metrics when PROMETHEUS_MULTIPROC_DIR is shared, else this one's."""
    if os.getenv("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        aggregated = CollectorRegistry()
        multiprocess.MultiProcessCollector(aggregated)
        return aggregated
    return REGISTRY


def render() -> tuple[bytes, str]:
    return generate_latest(registry()), CONTENT_TYPE_LATEST


def serve(*, port: int, addr: str) -> None:
    """Expose this process group's metrics on their own port (a thread of the calling process).

    The scheduler tick, the summary jobs and dispatch run in the Celery worker's pool processes, not
    in the web: the worker's main process serves what its children wrote to PROMETHEUS_MULTIPROC_DIR
    (config/celery.py starts it when WORKER_METRICS_PORT is set; compose keeps the port internal)."""
    start_http_server(port, addr=addr, registry=registry())
