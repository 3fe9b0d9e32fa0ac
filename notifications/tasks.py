from celery import shared_task

from notifications.scheduler import run_tick


@shared_task(name="notifications.tasks.scheduler_tick")
def scheduler_tick() -> dict:
    """Beat's entry point; the same tick `manage.py run_scheduler --once` runs in-process."""
    result = run_tick()
    return {"processed": result.processed, "failed": result.failed}
