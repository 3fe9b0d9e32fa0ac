from django.conf import settings
from django.db import models


class WeeklySummary(models.Model):
    """One user's statistics for one of their local ISO weeks, written by the scheduler tick.

    Re-running a week replaces the row with identical content. `notified_at` is the hook for the
    notifications side: a summary with no `notified_at` has not been announced to the user yet.
    Written only by `tracker.insights.services` (see its docstring): a new row has `notified_at`
    NULL; a recompute leaves an unchanged row untouched and, when the content did change, updates
    `payload` and `computed_at` but keeps `notified_at` (a back-fill is not news to announce)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField(help_text="The local Monday that starts the ISO week.")
    iso_year = models.PositiveSmallIntegerField()
    iso_week = models.PositiveSmallIntegerField()
    payload = models.JSONField(help_text="Weekly series point, statistics and regulation figures.")
    computed_at = models.DateTimeField()
    notified_at = models.DateTimeField(null=True, blank=True)
    # The user's change-feed position (`ChangeCounter.last_seq`) read before the payload was computed:
    # every create, edit or delete of their entries moves it, so the job skips a (user, week) whose row
    # carries the current position (nothing changed since). NULL: never matched, always recomputed.
    source_seq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "week_start"], name="weekly_summary_user_week_unique"),
        ]
        indexes = [
            models.Index(fields=["notified_at", "computed_at"], name="summary_unnotified"),
        ]

    def __str__(self) -> str:
        return f"WeeklySummary {self.user_id} {self.week_start}"
