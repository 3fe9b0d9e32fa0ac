"""The scheduler tick: one pass over all periodic work that is due.

Work is found from database state (`next_due_at`-style columns), never from messages a request
left on the broker, so a broker outage delays work but never loses it. The beat task and
`manage.py run_scheduler` both call `run_tick`, so tests exercise exactly what production runs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from tracker.common.metrics import DUE_BACKLOG, tick_job_observe

logger = logging.getLogger(__name__)

Job = Callable[..., int]


@dataclass
class TickResult:
    started_at: datetime
    processed: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)


def tick_jobs() -> list[tuple[str, Job]]:
    return [(path, import_string(path)) for path in settings.SCHEDULER_JOBS]


def run_tick(*, now: datetime | None = None) -> TickResult:
    """Run every job in SCHEDULER_JOBS once. A failing job is logged and does not stop the others."""
    now = now or timezone.now()
    result = TickResult(started_at=now)
    _observe_backlog(now)
    for path, job in tick_jobs():
        began = time.monotonic()
        try:
            result.processed[path] = job(now=now)
        except Exception:
            logger.exception("scheduler job failed: %s", path)
            result.failed.append(path)
            tick_job_observe(job=path, seconds=time.monotonic() - began, failed=True)
        else:
            tick_job_observe(job=path, seconds=time.monotonic() - began, failed=False)
            logger.info(
                "scheduler job %s processed %d in %.3fs", path, result.processed[path], time.monotonic() - began
            )
    return result


def _observe_backlog(now: datetime) -> None:
    from notifications.models import ReminderSchedule

    try:
        DUE_BACKLOG.set(ReminderSchedule.objects.filter(next_due_at__lte=now).count())
    except Exception:  # metrics never stop the tick
        logger.warning("scheduler: could not count the due backlog", exc_info=True)
