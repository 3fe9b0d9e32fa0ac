"""Rows for the trends and summaries tests, made straight through the ORM (no check-in API needed)."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime

from tracker.insights import scoring
from tracker.models import CheckIn, Instrument, RegulationLog

# Sync's per-user change sequence only has to be unique per user; a global counter is.
_change_seqs = itertools.count(1)


def instrument(code: str = "wmc", version: int = 1) -> Instrument:
    """A shipped instrument (tracker/entries/instruments/*.json, loaded by the post_migrate hook):
    its metadata is what the RCI reads in production."""
    return Instrument.objects.get(code=code, version=version)


def checkin(user, at: datetime, anxiety: float, avoidance: float, *, instr=None, save=True, **extra) -> CheckIn:
    row = CheckIn(
        id=uuid.uuid4(),
        user=user,
        occurred_at=at,
        utc_offset_minutes=0,
        instrument=instr or instrument(),
        responses=[],
        anxiety=anxiety,
        avoidance=avoidance,
        self_model=8 - anxiety,
        other_model=8 - avoidance,
        distance_to_secure=scoring.distance_to_secure(anxiety=anxiety, avoidance=avoidance),
        quadrant=scoring.quadrant(anxiety=anxiety, avoidance=avoidance),
        change_seq=extra.pop("change_seq", None) or next(_change_seqs),
        **extra,
    )
    if save:
        row.save()
    return row


def reglog(
    user, at: datetime, *, before=None, after=None, strategies=(), reached_out=None, recovery=None, save=True, **extra
) -> RegulationLog:
    row = RegulationLog(
        id=uuid.uuid4(),
        user=user,
        occurred_at=at,
        utc_offset_minutes=0,
        trigger="conflict",
        intensity_before=before,
        intensity_after=after,
        strategies=list(strategies),
        reached_out=reached_out,
        recovery_minutes=recovery,
        change_seq=extra.pop("change_seq", None) or next(_change_seqs),
        **extra,
    )
    if save:
        row.save()
    return row
