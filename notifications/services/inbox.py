"""Read and opened receipts. Opening (or reading) a nudge resets the back-off streak."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from notifications.models import Delivery, InboxItem, ReminderSchedule
from tracker.models import User


def _engaged(*, user: User) -> None:
    ReminderSchedule.objects.filter(user=user, unopened_streak__gt=0).update(
        unopened_streak=0, backoff_skipped_last=False
    )


@transaction.atomic
def inbox_item_mark(*, user: User, item_id: uuid.UUID, opened: bool, now: datetime | None = None) -> InboxItem | None:
    """Mark one item read (and opened, for the receipt the app sends when a push is tapped).
    Idempotent: the first timestamps stay. None when the item is not the user's."""
    now = now or timezone.now()
    changes = {"read_at": Coalesce("read_at", now)}
    if opened:
        changes["opened_at"] = Coalesce("opened_at", now)
    if not InboxItem.objects.filter(user=user, id=item_id).update(**changes):
        return None
    item = InboxItem.objects.get(id=item_id)
    if item.kind == Delivery.Kind.NUDGE:
        _engaged(user=user)
    return item


@transaction.atomic
def inbox_mark_all_read(*, user: User, now: datetime | None = None) -> int:
    now = now or timezone.now()
    changed = InboxItem.objects.filter(Q(user=user) & Q(read_at__isnull=True)).update(read_at=now)
    if changed:
        _engaged(user=user)
    return changed
