"""Check-ins and logs made through the real services at a travelled clock, and the tick."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import time_machine

from notifications.scheduler import run_tick
from tracker.entries.services.checkins import checkin_create
from tracker.entries.services.regulation import regulation_log_create
from tracker.models import Instrument


def wmc_answers(anxiety: int, avoidance: int) -> list[dict]:
    """Working model check-in answers scoring exactly `anxiety` and `avoidance` (items 2, 4, 6, 8 reversed)."""
    a, v = anxiety, avoidance
    values = {1: a, 2: 8 - a, 3: a, 4: 8 - a, 5: v, 6: 8 - v, 7: v, 8: 8 - v}
    return [{"item": n, "value": values[n]} for n in range(1, 9)]


def checkin_at(user, when: datetime, *, anxiety: int = 4, avoidance: int = 4, safety_answer=None, note=""):
    with time_machine.travel(when + timedelta(minutes=5), tick=False):
        outcome = checkin_create(
            user=user,
            id=uuid.uuid4(),
            instrument=Instrument.objects.get(code="wmc", is_default=True),
            occurred_at=when,
            utc_offset_minutes=0,
            responses=wmc_answers(anxiety, avoidance),
            note=note,
            safety_answer=safety_answer,
        )
    assert outcome.status == "created", outcome
    return outcome.row


def regulation_log_at(user, when: datetime, **fields):
    body = {
        "occurred_at": when,
        "utc_offset_minutes": 0,
        "trigger": "conflict",
        "emotions": [{"label": "fear", "intensity": 7}],
        "intensity_before": 8,
        "intensity_after": 4,
        "strategies": ["breathing"],
        "reached_out": True,
        "recovery_minutes": 30,
        "note": "",
    } | fields
    with time_machine.travel(when + timedelta(minutes=5), tick=False):
        outcome = regulation_log_create(user=user, id=uuid.uuid4(), **body)
    assert outcome.status == "created", outcome
    return outcome.row


def tick_at(when: datetime):
    with time_machine.travel(when, tick=False):
        return run_tick(now=when)
