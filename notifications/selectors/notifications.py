from __future__ import annotations

from django.db.models import QuerySet

from notifications.models import Device, InboxItem, ReminderSchedule
from notifications.models.schedules import default_channels, default_weekdays
from tracker.models import User


def inbox_list(*, user: User, unread: bool | None = None) -> QuerySet[InboxItem]:
    items = InboxItem.objects.filter(user=user)
    if unread is not None:
        items = items.filter(read_at__isnull=unread)
    return items


def device_list(*, user: User) -> QuerySet[Device]:
    return Device.objects.filter(user=user)


def schedule_for(*, user: User) -> ReminderSchedule:
    """The stored schedule, or an unsaved default (nothing scheduled) for a user who never set one."""
    schedule = ReminderSchedule.objects.filter(user=user).first()
    if schedule is None:
        schedule = ReminderSchedule(
            user=user, enabled=True, times=[], weekdays=default_weekdays(), channels=default_channels()
        )
    return schedule
