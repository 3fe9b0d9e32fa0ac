from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from notifications.models import Delivery, Device, InboxItem, ReminderSchedule
from notifications.models.schedules import default_channels, default_weekdays
from tracker.models import CheckIn, User


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


def prompt_list(*, user: User, now: datetime) -> QuerySet[Delivery]:
    """The user's prompts: every nudge the ledger records as sent, newest first, with its state.

    Derived from the ledger and the check-ins, never stored, so a check-in synced late from an
    offline device, or deleted, changes the state without a write:
    - `answered_at`: the first non-deleted check-in in [slot, expires_at) (expires_at = slot +
      PROMPT_EXPIRY_SECONDS);
    - `late_at`: none answered it, and the first check-in in [expires_at, the next prompt's slot)
      (or a day after the slot for the newest prompt): stored like any other, marked late here;
    - `state`: answered, or missed once expired unanswered, else open."""
    expiry = timedelta(seconds=settings.PROMPT_EXPIRY_SECONDS)
    prompts = Delivery.objects.filter(user=user, kind=Delivery.Kind.NUDGE, status=Delivery.Status.SENT)
    next_slot = (
        Delivery.objects.filter(
            user=user, kind=Delivery.Kind.NUDGE, status=Delivery.Status.SENT, slot__gt=OuterRef("slot")
        )
        .order_by("slot")
        .values("slot")[:1]
    )
    checkins = CheckIn.objects.filter(user=user, deleted_at__isnull=True).order_by("occurred_at")
    return prompts.annotate(
        expires_at=ExpressionWrapper(F("slot") + Value(expiry), output_field=DateTimeField()),
        answered_at=Subquery(
            checkins.filter(occurred_at__gte=OuterRef("slot"), occurred_at__lt=OuterRef("expires_at")).values(
                "occurred_at"
            )[:1]
        ),
        late_until=Coalesce(
            Subquery(next_slot, output_field=DateTimeField()),
            ExpressionWrapper(F("slot") + Value(timedelta(days=1)), output_field=DateTimeField()),
        ),
        late_at=Case(
            When(answered_at__isnull=False, then=Value(None, output_field=DateTimeField())),
            default=Subquery(
                checkins.filter(occurred_at__gte=OuterRef("expires_at"), occurred_at__lt=OuterRef("late_until")).values(
                    "occurred_at"
                )[:1]
            ),
            output_field=DateTimeField(),
        ),
        state=Case(
            When(answered_at__isnull=False, then=Value("answered")),
            When(expires_at__lte=now, then=Value("missed")),
            default=Value("open"),
        ),
    )
