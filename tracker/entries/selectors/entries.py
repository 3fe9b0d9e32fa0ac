"""Reads of check-ins and regulation logs, and the per-user change feed that offline phones sync from.

Lists exclude tombstones; the change feed includes them. Each returns querysets/rows with everything
the read serializers touch already joined, so serialising a page costs no further queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db import connection
from django.db.models import QuerySet

from tracker.models import ChangeCounter, CheckIn, RegulationLog


def checkin_list(*, user, since: datetime | None = None, until: datetime | None = None) -> QuerySet[CheckIn]:
    """The user's live check-ins, `since` ≤ occurred_at < `until` (both optional)."""
    checkins = CheckIn.objects.filter(user=user, deleted_at__isnull=True).select_related("instrument")
    if since is not None:
        checkins = checkins.filter(occurred_at__gte=since)
    if until is not None:
        checkins = checkins.filter(occurred_at__lt=until)
    return checkins


def checkin_get(*, user, checkin_id: UUID) -> CheckIn | None:
    """One live check-in of this user, or None (also for other users' ids and tombstones)."""
    return checkin_list(user=user).filter(id=checkin_id).first()


def regulation_log_list(
    *,
    user,
    since: datetime | None = None,
    until: datetime | None = None,
    strategy: str | None = None,
    trigger: str | None = None,
) -> QuerySet[RegulationLog]:
    """The user's live logs, `since` <= occurred_at < `until`, optionally using a strategy / with a trigger."""
    logs = RegulationLog.objects.filter(user=user, deleted_at__isnull=True)
    if since is not None:
        logs = logs.filter(occurred_at__gte=since)
    if until is not None:
        logs = logs.filter(occurred_at__lt=until)
    if trigger is not None:
        logs = logs.filter(trigger=trigger)
    if strategy is not None:
        if connection.vendor == "postgresql":
            logs = logs.filter(strategies__contains=[strategy])  # jsonb @>
        else:
            # SQLite has no JSON containment; codes are [a-z_] words, so the quoted code is exact.
            logs = logs.filter(strategies__icontains=f'"{strategy}"')
    return logs


def regulation_log_get(*, user, log_id: UUID) -> RegulationLog | None:
    return regulation_log_list(user=user).filter(id=log_id).first()


def feed_kinds() -> list:
    """Every entry type that takes part in the change feed (imported late: services import selectors)."""
    from tracker.entries.services.sync import ENTRY_KINDS

    return list(ENTRY_KINDS.values())


class CursorAhead(ValueError):
    """The cursor is beyond anything this user's feed has handed out (it belongs to another account)."""


@dataclass(frozen=True)
class FeedPage:
    changes: list  # [(kind, row)] in feed order; rows with deleted_at set are tombstones
    last_seq: int  # the position to resume after
    has_more: bool


def change_feed(*, user, after: int, limit: int) -> FeedPage:
    """Changes to the user's entries after position `after`, oldest first, at most `limit`.

    Reads the user's counter first (high-water mark H) and then only positions ≤ H: writers hold the
    counter row until they commit and take positions in commit order, so every position ≤ H is
    already visible and none can appear behind the cursor later. A row edited again meanwhile simply
    moves beyond H and arrives on a later page. One query for the counter plus one per entry type."""
    high = ChangeCounter.objects.filter(user=user).values_list("last_seq", flat=True).first() or 0
    if after > high:
        raise CursorAhead()
    merged = []
    for kind in feed_kinds():
        rows = (
            kind.model.objects.filter(user=user, change_seq__gt=after, change_seq__lte=high)
            .select_related(*kind.select_related)
            .order_by("change_seq")[: limit + 1]
        )
        merged.extend((row.change_seq, kind, row) for row in rows)
    merged.sort(key=lambda entry: entry[0])
    if len(merged) > limit:
        page = merged[:limit]
        return FeedPage(changes=[(k, r) for _, k, r in page], last_seq=page[-1][0], has_more=True)
    return FeedPage(changes=[(k, r) for _, k, r in merged], last_seq=high, has_more=False)
