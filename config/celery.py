"""The Celery app. Tasks take ids (never health data), serialize as JSON only, and acknowledge late
so a worker killed mid-task hands the task back to the broker; every task is idempotent, so a
redelivery is harmless."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

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
            "schedule": 60.0,
            # A tick that waited longer than a minute is superseded by the next one.
            "options": {"expires": 55},
        },
    },
)
app.autodiscover_tasks()
