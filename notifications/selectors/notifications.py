from __future__ import annotations

from datetime import datetime

from django.db.models import Count, IntegerField, QuerySet, Subquery

from notifications.models import Delivery, Device, InboxItem, ReminderSchedule
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


def nudges_asked_subquery(*, user, start: datetime, end: datetime) -> Subquery:
    """How many check-ins the reminder schedule asked for in [start, end): its nudge slots in the
    delivery ledger, sent or skipped, except while the user had paused nudges (then nothing was asked).

    A scalar subquery, so it rides along in the weekly-history query instead of costing another one.
    Registered as insights' `PromptsAskedQuery` (tracker.insights.prompts) in `ready()`."""
    slots = (
        Delivery.objects.filter(user=user, kind=Delivery.Kind.NUDGE, slot__gte=start, slot__lt=end)
        .exclude(skip_reason=Delivery.SkipReason.PAUSED)
        .order_by()
        .values("user")
        .annotate(slots=Count("id"))
        .values("slots")
    )
    return Subquery(slots, output_field=IntegerField())
