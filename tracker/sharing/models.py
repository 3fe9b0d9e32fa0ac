"""Consent-scoped sharing between a client and a therapist.

A client creates a `ShareInvite` (a short single-use code, stored only as a hash); a verified
therapist redeems it and a `ShareGrant` comes to exist. The grant, not the invite, is what every
therapist read is checked against — on every request, with no caching, so a revocation or an
expiry applies to the very next request. Each read writes an `AccessLogEntry` the client can see."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Scope(models.TextChoices):
    CHECKINS = "checkins", "Check-ins"
    REGULATION_LOGS = "regulation_logs", "Regulation logs"
    NOTES = "notes", "Free-text notes"
    SUMMARIES = "summaries", "Weekly summaries"


ALL_SCOPES: tuple[str, ...] = tuple(Scope.values)
# Notes are the most private part of an entry: a share never includes them unless asked for.
DEFAULT_SCOPES: tuple[str, ...] = tuple(scope for scope in ALL_SCOPES if scope != Scope.NOTES)


class ScopedMixin(models.Model):
    """Scopes as booleans, so the database can filter on them (e.g. list clients sharing check-ins)."""

    scope_checkins = models.BooleanField(default=True)
    scope_regulation_logs = models.BooleanField(default=True)
    scope_notes = models.BooleanField(default=False)
    scope_summaries = models.BooleanField(default=True)

    class Meta:
        abstract = True

    @property
    def scopes(self) -> list[str]:
        return [scope for scope in ALL_SCOPES if getattr(self, f"scope_{scope}")]

    @property
    def scope_labels(self) -> list[str]:
        return [Scope(scope).label for scope in self.scopes]

    def set_scopes(self, scopes) -> None:
        chosen = set(scopes)
        for scope in ALL_SCOPES:
            setattr(self, f"scope_{scope}", scope in chosen)

    def allows(self, scope: str) -> bool:
        return bool(getattr(self, f"scope_{scope}"))


class ShareInvite(ScopedMixin):
    """A single-use code a client hands to a therapist. Only the code's HMAC is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    # Optional lifetime of the grant the invite turns into (None: until revoked).
    grant_expires_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    grant = models.OneToOneField("ShareGrant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["client", "created_at"], name="share_invite_client")]

    def __str__(self) -> str:
        return f"ShareInvite {self.id}"


class ShareGrant(ScopedMixin):
    """A client's consent for one therapist to read some of their data."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REVOKED = "revoked", "Revoked"
        # Never stored: a grant past `expires_at` reads as expired without anyone writing to it.
        EXPIRED = "expired", "Expired"

    class RevokedBy(models.TextChoices):
        CLIENT = "client", "Client"
        THERAPIST = "therapist", "Therapist"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    therapist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Which side ended the share: the client revoking it or the therapist ending it (null while not revoked).
    revoked_by = models.CharField(  # noqa: DJ001 - null: not revoked, unlike any side
        max_length=16, choices=RevokedBy.choices, null=True, blank=True, default=None
    )
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One live share per pair: scopes change on the grant, not by stacking grants.
            models.UniqueConstraint(
                fields=["client", "therapist"],
                condition=models.Q(status="active"),
                name="share_grant_one_active_per_pair",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "revoked"]), name="share_grant_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["therapist", "status"], name="share_grant_therapist"),
            models.Index(fields=["client", "status"], name="share_grant_client"),
        ]

    def __str__(self) -> str:
        return f"ShareGrant {self.id}"

    def effective_status(self, now=None) -> str:
        if self.status == self.Status.REVOKED:
            return self.Status.REVOKED
        if self.expires_at is not None and self.expires_at <= (now or timezone.now()):
            return self.Status.EXPIRED
        return self.Status.ACTIVE


class TherapySession(models.Model):
    """A therapist marks that a session took place; the digest reports what changed since the last one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    grant = models.ForeignKey(ShareGrant, on_delete=models.CASCADE, related_name="sessions")
    therapist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["therapist", "client", "occurred_at"], name="therapy_session_pair")]

    def __str__(self) -> str:
        return f"TherapySession {self.id}"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("The access log is append-only.")

    def delete(self):
        raise TypeError("The access log is append-only.")

    # bulk_update would rewrite rows too.
    def bulk_update(self, objs, fields, batch_size=None):
        raise TypeError("The access log is append-only.")


class AccessLogEntry(models.Model):
    """One therapist read of one client's data. Append-only: rows are inserted and never changed.

    The ORM refuses updates and deletes here; the database refuses UPDATE with a trigger (see the
    migration). Rows only disappear with the client's account (erasure cascades)."""

    class Resource(models.TextChoices):
        CLIENT_LIST = "client_list", "Client list status line"
        CHECKINS = "checkins", "Check-ins"
        REGULATION_LOGS = "regulation_logs", "Regulation logs"
        TRENDS = "trends", "Trends"
        SUMMARIES = "summaries", "Weekly summaries"
        DIGEST = "digest", "Since-last-session digest"
        CLIENT_PAGE = "client_page", "Dashboard client page"
        EXPORT = "export", "FHIR export of the shared data"
        ALERTS = "alerts", "Alerts"
        REPORT = "report", "Session report (PDF)"

    class Channel(models.TextChoices):
        API = "api", "API"
        WEB = "web", "Web dashboard"

    id = models.BigAutoField(primary_key=True)
    grant = models.ForeignKey(ShareGrant, on_delete=models.CASCADE, related_name="access_log")
    therapist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    resource = models.CharField(max_length=32, choices=Resource.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    accessed_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["grant", "accessed_at"], name="access_log_grant")]

    def __str__(self) -> str:
        return f"AccessLogEntry {self.id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("The access log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The access log is append-only.")
