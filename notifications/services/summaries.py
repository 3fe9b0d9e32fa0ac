"""Announcing weekly summaries: the trends job writes `WeeklySummary` rows with `notified_at` NULL;
this job sends one notification per summary and stamps `notified_at`, in chunks.

The claim is the ledger's unique (user, "weekly_summary", week_start) row, so a summary is announced
once even if two ticks race or `notified_at` could not be written. Push and email say only that the
summary is ready; the plain-language line derived from the payload (`summary_line`, which reads the
producer's `tracker.insights.contracts.WeeklySummaryPayload`) is shown in the in-app inbox."""

from __future__ import annotations

from datetime import UTC, datetime, time

from django.conf import settings
from django.db import connection, transaction

from notifications.content import SUMMARY_PUSH_BODY, SUMMARY_TITLE, summary_deep_link, summary_line
from notifications.models import Delivery, ReminderSchedule
from notifications.models.schedules import Channel, default_channels
from notifications.services.ledger import DeliveryDraft, deliveries_record
from tracker.models import WeeklySummary


def _process_batch(*, now: datetime) -> int:
    with transaction.atomic():
        pending = WeeklySummary.objects.filter(notified_at__isnull=True).order_by("computed_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            pending = pending.select_for_update(skip_locked=True)
        summaries = list(
            pending.only("id", "user_id", "week_start", "iso_year", "iso_week", "payload")[
                : settings.SUMMARY_NOTIFY_BATCH_SIZE
            ]
        )
        if not summaries:
            return 0
        channels = dict(
            ReminderSchedule.objects.filter(user_id__in={s.user_id for s in summaries}).values_list(
                "user_id", "channels"
            )
        )
        drafts = [
            DeliveryDraft(
                user_id=summary.user_id,
                kind=Delivery.Kind.WEEKLY_SUMMARY,
                slot=datetime.combine(summary.week_start, time(0), tzinfo=UTC),
                status=Delivery.Status.SENT,
                title=SUMMARY_TITLE,
                body=SUMMARY_PUSH_BODY,
                inbox_body=summary_line(summary.payload),
                deep_link=summary_deep_link(week_start=summary.week_start),
                channels=(*(channels.get(summary.user_id) or default_channels()), Channel.INBOX),
            )
            for summary in summaries
        ]
        deliveries_record(drafts=drafts, now=now)
        # Stamp every claimed summary, won or already announced by someone else.
        WeeklySummary.objects.filter(id__in=[s.id for s in summaries]).update(notified_at=now)
        return len(summaries)


def weekly_summaries_job(*, now: datetime) -> int:
    processed = 0
    for _ in range(settings.REMINDER_MAX_BATCHES_PER_TICK):
        handled = _process_batch(now=now)
        if not handled:
            break
        processed += handled
    return processed
