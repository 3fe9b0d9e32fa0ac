"""Rows for the trends and summaries tests, made straight through the ORM (no check-in API needed)."""

from __future__ import annotations

import math
import uuid
from datetime import datetime

from tracker.models import CheckIn, Instrument, RegulationLog
from tracker.trends import quadrant_label

METADATA = {
    "anxiety": {"sd": 1.0, "r": 0.9, "source": "test norms"},
    "avoidance": {"sd": 1.1, "r": 0.8, "source": "test norms"},
    "provisional": True,
}


def instrument(code: str = "sb-state", version: int = 1, metadata: dict | None = None) -> Instrument:
    found = Instrument.objects.filter(code=code, version=version).first()
    if found:
        return found
    return Instrument.objects.create(
        code=code,
        version=version,
        title=f"{code} v{version}",
        definition={"items": [], "metadata": METADATA if metadata is None else metadata},
        is_default=True,
    )


def distance(anxiety: float, avoidance: float, cut: float = 4.0) -> float:
    return math.hypot(max(0.0, avoidance - cut), max(0.0, anxiety - cut))


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
        distance_to_secure=distance(anxiety, avoidance),
        quadrant=quadrant_label(anxiety, avoidance),
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
        **extra,
    )
    if save:
        row.save()
    return row
