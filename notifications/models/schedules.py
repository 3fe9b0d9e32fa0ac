"""A user's reminder schedule: local wall times, weekdays, quiet hours and where nudges go."""

from django.conf import settings
from django.db import models

from notifications.transports import Channel  # the one channel vocabulary, built from the transport registry

__all__ = ["Channel", "ReminderSchedule", "default_channels", "default_weekdays"]


def default_channels() -> list[str]:
    return [Channel.INBOX, Channel.PUSH]


def default_weekdays() -> list[int]:
    return [1, 2, 3, 4, 5, 6, 7]


class ReminderSchedule(models.Model):
    """Times are local wall times in the user's IANA timezone; `next_due_at` is the next slot in UTC.

    The scheduler tick finds work through `next_due_at` alone (an indexed column), so a broker
    outage delays nudges but never loses them. `next_due_at` is NULL when nothing is scheduled."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminder_schedule")
    enabled = models.BooleanField(default=True, help_text="False pauses every nudge until re-enabled.")
    times = models.JSONField(default=list, help_text='Local wall times, sorted: ["09:00", "20:30"].')
    weekdays = models.JSONField(default=default_weekdays, help_text="ISO weekdays, Monday = 1 … Sunday = 7.")
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    skip_if_done = models.BooleanField(default=True)
    channels = models.JSONField(default=default_channels)
    paused_until = models.DateTimeField(null=True, blank=True)

    next_due_at = models.DateTimeField(null=True, blank=True)
    # The last slot the tick handled (sent or skipped): "since the previous slot" for skip_if_done.
    last_slot_at = models.DateTimeField(null=True, blank=True)
    # Nudges sent in a row that the user never opened; opening one resets it (see notifications.planning).
    unopened_streak = models.PositiveIntegerField(default=0)
    backoff_skipped_last = models.BooleanField(default=False)
    sent_count = models.PositiveIntegerField(default=0, help_text="Rotates the nudge texts.")
    # SQLite has no SKIP LOCKED: a tick claims rows by writing its token with a conditional UPDATE.
    claim_token = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_due_at", "id"], name="reminder_next_due", condition=models.Q(next_due_at__isnull=False)
            ),
            models.Index(fields=["claim_token"], name="reminder_claim_token"),
        ]

    def __str__(self) -> str:
        return f"ReminderSchedule of {self.user_id}"
