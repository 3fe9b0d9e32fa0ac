"""The delivery ledger: what was sent (or deliberately not sent) to whom, for which slot, and how.

- `Delivery`: one row per (user, kind, slot) under a unique constraint, inserted with ON CONFLICT DO
  NOTHING *before* anything is sent. Whoever inserts the row owns the slot; everyone else sends
  nothing. Skipped slots get a row too, so every slot is accounted for exactly once.
- `InboxItem`: the in-app copy, written in the same transaction as its Delivery.
- `Dispatch`: one outgoing push (per device) or email for a Delivery; an outbox row the tick drains.
- `DeliveryAttempt`: every try of a Dispatch, with status, error and duration."""

import uuid

from django.conf import settings
from django.db import models

from notifications.transports import Channel

# Display choices for `Dispatch.channel` exactly as migration 0001 has them. Which channels exist is
# decided by the registry (notifications.transports.TRANSPORTS), and the database does not enforce
# choices, so a transport added later needs neither a change here nor a migration.
OUTBOX_CHANNEL_CHOICES = [(Channel.PUSH.value, "Push"), (Channel.EMAIL.value, "Email")]


class Delivery(models.Model):
    class Kind(models.TextChoices):
        NUDGE = "nudge", "Check-in nudge"
        # The one re-reminder for an unanswered nudge; its slot is the nudge's, so the ledger's unique
        # (user, kind, slot) caps it at one per prompt.
        NUDGE_AGAIN = "nudge_again", "Re-reminder for an unanswered nudge"
        WEEKLY_SUMMARY = "weekly_summary", "Weekly summary"

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped"

    class SkipReason(models.TextChoices):
        NONE = "", "—"
        MISSED = "missed", "Missed by more than the grace window"
        SUPERSEDED = "superseded", "A later slot was already due"
        DONE = "done", "The user already checked in since the previous slot"
        BACKOFF = "backoff", "Backing off after unopened nudges"
        PAUSED = "paused", "Nudges are paused"
        QUIET = "quiet", "Quiet hours had begun by the time it could be sent"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # The slot in UTC (for a weekly summary: its week_start at 00:00 UTC).
    slot = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices)
    skip_reason = models.CharField(max_length=16, choices=SkipReason.choices, blank=True, default="")
    # What push and email may carry: never health data.
    title = models.CharField(max_length=120, blank=True, default="")
    body = models.CharField(max_length=300, blank=True, default="")
    deep_link = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "slot"], name="delivery_user_kind_slot_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.slot:%Y-%m-%d %H:%M} {self.status}"


class InboxItem(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    delivery = models.OneToOneField(Delivery, on_delete=models.CASCADE, related_name="inbox_item")
    kind = models.CharField(max_length=32, choices=Delivery.Kind.choices)
    title = models.CharField(max_length=120)
    body = models.CharField(max_length=300)
    deep_link = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True, help_text="The user tapped the push for it.")

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at", "-id"], name="inbox_user_created")]

    def __str__(self) -> str:
        return f"{self.kind} inbox item {self.id}"


class Dispatch(models.Model):
    """One outgoing message through an outbox transport (push: one per device; email). `sending` is a
    attempt begun: a row left there by a killed worker is never retried (it becomes `unknown`), because the
    message may already have gone out: at most once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        DISABLED = "disabled", "Channel disabled"
        ABANDONED = "abandoned", "Abandoned after the sender died mid-send"
        # The sender died after the attempt began: the provider may or may not have it. Not resent.
        UNKNOWN = "unknown", "Outcome unknown: the sender died during the attempt"

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="dispatches")
    channel = models.CharField(max_length=16, choices=OUTBOX_CHANNEL_CHOICES)
    device = models.ForeignKey("notifications.Device", on_delete=models.SET_NULL, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["next_attempt_at"], name="dispatch_pending", condition=models.Q(status="pending")),
            models.Index(fields=["claimed_at"], name="dispatch_sending", condition=models.Q(status="sending")),
            models.Index(fields=["claim_token"], name="dispatch_claim_token"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} dispatch {self.id} {self.status}"


class DeliveryAttempt(models.Model):
    class Status(models.TextChoices):
        OK = "ok", "Delivered to the provider"
        TEMPORARY_ERROR = "temporary_error", "Temporary error (retried)"
        PERMANENT_ERROR = "permanent_error", "Permanent error (not retried)"

    dispatch = models.ForeignKey(Dispatch, on_delete=models.CASCADE, related_name="attempts_log")
    channel = models.CharField(max_length=16, choices=OUTBOX_CHANNEL_CHOICES)
    status = models.CharField(max_length=16, choices=Status.choices)
    error = models.CharField(max_length=200, blank=True, default="")
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    attempted_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.channel} attempt {self.status}"
