"""Push devices: register (a token moves to whoever registers it last) and remove (by id or by token)."""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction

from notifications.models import Device
from tracker.models import User


def device_register(*, user: User, platform: str, token: str, app_version: str = "") -> tuple[Device, bool]:
    """Upsert by token. Re-registering re-enables the device and moves it to `user`: a phone that
    changed hands must never show the previous owner's nudges. Returns (device, created)."""
    for _ in range(2):  # a concurrent first registration of the same token: retry as an update
        try:
            with transaction.atomic():
                device = Device.objects.select_for_update().filter(token=token).first()
                if device is None:
                    return Device.objects.create(
                        user=user, platform=platform, token=token, app_version=app_version
                    ), True
                device.user, device.platform, device.app_version = user, platform, app_version
                device.enabled, device.disabled_reason = True, ""
                device.save()
                return device, False
        except IntegrityError:
            continue
    raise IntegrityError("device token registration kept conflicting")  # pragma: no cover


def device_delete(*, user: User, device_id: uuid.UUID) -> bool:
    deleted, _ = Device.objects.filter(user=user, id=device_id).delete()
    return bool(deleted)


def device_delete_by_token(*, user: User, token: str) -> bool:
    """Remove `user`'s device with this push token. A phone that logs out knows its token, not our id.
    Scoped to `user`: the same token now held by someone else (it moved) is never touched."""
    deleted, _ = Device.objects.filter(user=user, token=token).delete()
    return bool(deleted)
