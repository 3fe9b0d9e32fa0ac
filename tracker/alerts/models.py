"""Alerts the client agreed to: rules on a share, and the alerts they raise for the therapist.

Every share has one `AlertRule` per `Kind`, created on first use (on by default: the client sees
them in their share and switches any off). A rule's episode is open while its condition holds
(`active_since`); the scheduler job raises one `Alert` when an episode opens and closes the episode
when the condition clears, so a persisting condition alerts once, not on every tick."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from tracker.sharing.models import Scope, ShareGrant


class AlertKind(models.TextChoices):
    SAFETY_FLAG = "safety_flag", "Safety flag"
    RELIABLE_WORSENING = "reliable_worsening", "Reliable worsening"
    NO_CHECKIN = "no_checkin", "No check-in"
    DISTANCE_RISING = "distance_rising", "Distance to secure rising"


class AlertRule(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    grant = models.ForeignKey(ShareGrant, on_delete=models.CASCADE, related_name="alert_rules")
    # The client's id again (every health-adjacent row carries its user: filters and erasure).
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    enabled = models.BooleanField(default=True)
    # The open episode: when the condition was first seen to hold (null: it does not hold now).
    active_since = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["grant", "kind"], name="alert_rule_one_per_kind")]

    def __str__(self) -> str:
        return f"AlertRule {self.id}"


class Alert(models.Model):
    """One episode of one rule, for the share's therapist. Carries no health data, only the rule."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    grant = models.ForeignKey(ShareGrant, on_delete=models.CASCADE, related_name="+")
    therapist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    # The scope of the data that raised it: the alert is shown only while the share still covers it.
    scope = models.CharField(max_length=32, choices=Scope.choices)
    fired_at = models.DateTimeField()
    episode_ended_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # Always the alert's own therapist (only they can acknowledge), so erasing them removes it anyway.
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Claimed (set) before the notification email is sent, so a retried job never sends it twice.
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["therapist", "fired_at"], name="alert_therapist"),
            models.Index(fields=["emailed_at"], name="alert_email_due", condition=models.Q(emailed_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"Alert {self.id}"
