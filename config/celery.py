"""The Celery app. Tasks take ids (never health data), serialize as JSON only, and acknowledge late
so a worker killed mid-task hands the task back to the broker; every task is idempotent, so a
redelivery is harmless."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Beat's interval (SCHEDULER_TICK_SECONDS, 60 by default; the drills use a few seconds).
TICK_SECONDS = float(os.getenv("SCHEDULER_TICK_SECONDS", "60"))

app = Celery("securebase")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_time_limit=300,
    task_soft_time_limit=240,
    broker_connection_retry_on_startup=True,
    timezone="UTC",
    beat_schedule={
        "scheduler-tick": {
            "task": "notifications.tasks.scheduler_tick",
            "schedule": TICK_SECONDS,
            # A tick that waited longer than one interval is superseded by the next one.
            "options": {"expires": max(1.0, TICK_SECONDS - 5) if TICK_SECONDS > 10 else TICK_SECONDS * 0.9},
        },
    },
)
app.autodiscover_tasks()


@signals.worker_init.connect
def serve_worker_metrics(**_kwargs) -> None:
    """Serve the worker's metrics (tick and job durations, due backlog, deliveries) on
    WORKER_METRICS_PORT; its pool processes write them to PROMETHEUS_MULTIPROC_DIR."""
    port = os.getenv("WORKER_METRICS_PORT")
    if port:
        from tracker.common.metrics import serve

        serve(port=int(port), addr=os.getenv("WORKER_METRICS_ADDR", "0.0.0.0"))  # noqa: S104 - compose network only
