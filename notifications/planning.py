"""What the tick does with one due slot: send it, or record why not. Pure, so rules test directly.

Order of the rules:
1. `missed`: the slot is older than the grace window (REMINDER_GRACE_SECONDS, 15 min by default):
   recorded as skipped, never sent late (beat restarted after an outage does not fire a burst).
2. `superseded`: the following slot is already due as well: only the latest one is sent.
3. `quiet`: the send time (`now`, not the slot) is inside the user's quiet hours: a nudge that is
   late because the scheduler was down never lands in quiet hours that began after its slot.
4. `done`: `skip_if_done` and the user has a check-in since the previous slot.
5. `backoff`: after REMINDER_BACKOFF_AFTER (3) nudges in a row that the user never opened, only
   every other slot is sent until they open one (opening or reading a nudge resets the streak; so
   does a check-in that made a nudge unnecessary).
Otherwise the nudge is sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from notifications.models import Delivery


@dataclass(frozen=True)
class SlotPlan:
    status: str
    skip_reason: str
    unopened_streak: int
    backoff_skipped_last: bool


def plan_slot(
    *,
    slot: datetime,
    following: datetime | None,
    now: datetime,
    grace: timedelta,
    checked_in: bool,
    unopened_streak: int,
    backoff_skipped_last: bool,
    backoff_after: int,
    quiet_at_send: bool = False,
) -> SlotPlan:
    def skip(reason: str, streak: int = unopened_streak, skipped_last: bool = backoff_skipped_last) -> SlotPlan:
        return SlotPlan(Delivery.Status.SKIPPED, reason, streak, skipped_last)

    if now - slot > grace:
        return skip(Delivery.SkipReason.MISSED)
    if following is not None and following <= now:
        return skip(Delivery.SkipReason.SUPERSEDED)
    if quiet_at_send:
        return skip(Delivery.SkipReason.QUIET)
    if checked_in:
        return skip(Delivery.SkipReason.DONE, 0, False)
    if unopened_streak >= backoff_after and not backoff_skipped_last:
        return skip(Delivery.SkipReason.BACKOFF, unopened_streak, True)
    return SlotPlan(Delivery.Status.SENT, "", unopened_streak + 1, False)
