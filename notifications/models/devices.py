"""Push tokens of a user's phones."""

import uuid

from django.conf import settings
from django.db import models


class Device(models.Model):
    class Platform(models.TextChoices):
        IOS = "ios", "iOS"
        ANDROID = "android", "Android"
        WEB = "web", "Web"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_devices")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    # An FCM registration token identifies one app install; it belongs to whoever registered it last.
    token = models.CharField(max_length=4096, unique=True)
    app_version = models.CharField(max_length=32, blank=True, default="")
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["user", "enabled"], name="device_user_enabled")]

    def __str__(self) -> str:
        return f"{self.platform} device {self.id}"
