"""Builders for check-ins (and regulation logs): request bodies and stored rows through the services."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.utils import timezone

from tracker.entries.services.checkins import checkin_create
from tracker.models import Instrument

# Working model check-in v1: items 1-4 anxiety (2, 4 reversed), 5-8 avoidance (6, 8 reversed).
WMC_ANSWERS = {1: 6, 2: 2, 3: 5, 4: 3, 5: 2, 6: 6, 7: 1, 8: 7}  # anxiety 5.5, avoidance 1.5


def wmc_responses(answers: dict[int, int] | None = None) -> list[dict]:
    return [{"item": n, "value": v} for n, v in sorted((answers or WMC_ANSWERS).items())]


def local_time(when: datetime | None = None, offset_minutes: int = 60) -> str:
    when = when or timezone.now() - timedelta(hours=1)
    return when.astimezone(dt_timezone(timedelta(minutes=offset_minutes))).replace(microsecond=0).isoformat()


def checkin_body(**overrides) -> dict:
    body = {
        "id": str(uuid.uuid4()),
        "instrument": "wmc",
        "occurred_at": local_time(),
        "responses": wmc_responses(),
        "note": "Felt shaky after the call.",
    }
    body.update(overrides)
    return body


def make_checkin(user, *, occurred_at: datetime | None = None, answers: dict[int, int] | None = None, note: str = ""):
    """A stored check-in created through the service (so scores and the change feed are real)."""
    occurred_at = occurred_at or timezone.now() - timedelta(hours=1)
    outcome = checkin_create(
        user=user,
        id=uuid.uuid4(),
        instrument=Instrument.objects.get(code="wmc", is_default=True),
        occurred_at=occurred_at,
        utc_offset_minutes=60,
        responses=wmc_responses(answers),
        note=note,
    )
    assert outcome.status == "created", outcome
    return outcome.row
