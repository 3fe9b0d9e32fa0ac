"""The notification jobs in settings.SCHEDULER_JOBS (each `def job(*, now) -> int`), in tick order:
nudges and summary announcements first write the ledger, inbox and outbox; the dispatch job then
sends the push and email they queued, in the same tick."""

from notifications.services.dispatch import dispatch_job
from notifications.services.reminders import reminders_job
from notifications.services.rereminders import rereminders_job
from notifications.services.summaries import weekly_summaries_job

__all__ = ["dispatch_job", "reminders_job", "rereminders_job", "weekly_summaries_job"]
