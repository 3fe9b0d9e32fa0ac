"""Re-remind once: a sent nudge still unanswered PROMPT_REREMIND_AFTER_SECONDS after its slot gets one
more nudge (kind `nudge_again`), never in quiet hours, at most one per prompt.

The re-reminder's ledger row carries the nudge's slot, so the ledger's unique (user, kind, slot) makes
it exactly-once like every nudge (two ticks, a redelivered task: one row, one inbox item). It is due
in [slot + after, slot + after + REMINDER_GRACE_SECONDS): a tick that comes later (scheduler down)
lets it go, as a late nudge would be. In quiet hours at that moment it is recorded as skipped
(`quiet`) and never sent later. Only while the prompt is still open (before PROMPT_EXPIRY_SECONDS)
and the schedule is enabled and not paused. 0 turns re-reminders off (the default)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from notifications.content import NUDGE_AGAIN_TEXT, NUDGE_DEEP_LINK
from notifications.models import Delivery, ReminderSchedule
from notifications.services.ledger import DeliveryDraft, deliveries_record
from notifications.slots import in_quiet_hours
from tracker.models import CheckIn


def rereminders_job(*, now: datetime) -> int:
    after = settings.PROMPT_REREMIND_AFTER_SECONDS
    if not after or after >= settings.PROMPT_EXPIRY_SECONDS:
        return 0
    latest = now - timedelta(seconds=after)
    earliest = latest - timedelta(seconds=settings.REMINDER_GRACE_SECONDS)
    answered = CheckIn.objects.filter(
        user_id=OuterRef("user_id"), deleted_at__isnull=True, occurred_at__gte=OuterRef("slot"), occurred_at__lte=now
    )
    again = Delivery.objects.filter(user_id=OuterRef("user_id"), kind=Delivery.Kind.NUDGE_AGAIN, slot=OuterRef("slot"))
    live = ReminderSchedule.objects.filter(user_id=OuterRef("user_id"), enabled=True).filter(
        Q(paused_until__isnull=True) | Q(paused_until__lte=now)
    )
    due = (
        Delivery.objects.filter(kind=Delivery.Kind.NUDGE, status=Delivery.Status.SENT)
        .filter(slot__gt=earliest, slot__lte=latest)
        .filter(~Exists(answered), ~Exists(again), Exists(live))
        .values_list("user_id", "slot", "user__timezone", "user__reminder_schedule__quiet_start",
                     "user__reminder_schedule__quiet_end", "user__reminder_schedule__channels")
    )  # fmt: skip
    title, body = NUDGE_AGAIN_TEXT
    drafts = []
    for user_id, slot, tz_name, quiet_start, quiet_end, channels in due:
        quiet = in_quiet_hours(now, tz_name=tz_name, quiet_start=quiet_start, quiet_end=quiet_end)
        drafts.append(
            DeliveryDraft(
                user_id=user_id,
                kind=Delivery.Kind.NUDGE_AGAIN,
                slot=slot,
                status=Delivery.Status.SKIPPED if quiet else Delivery.Status.SENT,
                skip_reason=Delivery.SkipReason.QUIET if quiet else "",
                title="" if quiet else title,
                body="" if quiet else body,
                deep_link="" if quiet else NUDGE_DEEP_LINK,
                channels=tuple(channels),
            )
        )
    with transaction.atomic():
        return len(deliveries_record(drafts=drafts, now=now))
