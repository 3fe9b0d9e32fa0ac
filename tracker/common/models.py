from django.conf import settings
from django.db import models

from tracker.common.fields import EncryptedTextField


class IdempotencyRecord(models.Model):
    """One `Idempotency-Key` a user sent on a POST, and the 2xx answer to replay for it.

    The request body itself is never kept, only the sha256 of its canonical JSON, enough to tell a
    retry from a different request reusing the key. The response body is kept encrypted (an invite's
    one-time code is in it). A row with `response_status` NULL is a claim still inside the
    transaction that runs the view: no other transaction ever sees it in that state. Rows older than
    `IDEMPOTENCY_TTL_HOURS` are ignored and purged by `tracker.common.api.idempotency.idempotency_purge_job`."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2048)
    request_hash = models.CharField(max_length=64, help_text="sha256 hex of the canonical JSON request body.")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = EncryptedTextField(blank=True, default="", help_text="The rendered JSON body; a Fernet token.")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_unique"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"IdempotencyRecord {self.user_id} {self.method} {self.path}"
