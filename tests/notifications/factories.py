"""Test data for notifications: schedules through the real service, check-ins, summaries."""

from __future__ import annotations

from datetime import date, datetime, time

from django.utils import timezone

from notifications.models import ReminderSchedule
from notifications.services.schedules import schedule_update
from tests.insights import trend_data
from tracker.models import CheckIn, WeeklySummary

EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]


def make_schedule(
    user,
    *,
    times: list[str],
    weekdays: list[int] | None = None,
    quiet: tuple[str, str] | None = None,
    skip_if_done: bool = False,
    channels: list[str] | None = None,
    paused_until: datetime | None = None,
    enabled: bool = True,
    now: datetime | None = None,
) -> ReminderSchedule:
    return schedule_update(
        user=user,
        times=times,
        weekdays=EVERY_DAY if weekdays is None else weekdays,
        quiet_start=time.fromisoformat(quiet[0]) if quiet else None,
        quiet_end=time.fromisoformat(quiet[1]) if quiet else None,
        skip_if_done=skip_if_done,
        channels=channels or ["inbox"],
        paused_until=paused_until,
        enabled=enabled,
        now=now or timezone.now(),
    )


def make_checkin(user, *, occurred_at: datetime, deleted: bool = False) -> CheckIn:
    return trend_data.checkin(user, occurred_at, 4, 4, deleted_at=occurred_at if deleted else None)


def make_summary(user, *, week_start: date, payload: dict | None = None) -> WeeklySummary:
    iso = week_start.isocalendar()
    return WeeklySummary.objects.create(
        user=user,
        week_start=week_start,
        iso_year=iso.year,
        iso_week=iso.week,
        payload=payload if payload is not None else {},
        computed_at=timezone.now(),
    )


# --- Weekly summaries made by the real producer from entries made through the services ----------------


def wmc_answers(anxiety: int, avoidance: int) -> dict[int, int]:
    """Working-model check-in answers scoring exactly (anxiety, avoidance): items 2, 4, 6, 8 are reversed."""
    return {
        1: anxiety,
        2: 8 - anxiety,
        3: anxiety,
        4: 8 - anxiety,
        5: avoidance,
        6: 8 - avoidance,
        7: avoidance,
        8: 8 - avoidance,
    }


def log_regulation(user, *, occurred_at: datetime, **fields):
    """A regulation log as the phone sends it, validated by the API serializer and stored by the service."""
    import uuid

    from tests.entries.entry_factories import local_time
    from tracker.entries.serializers.regulation import RegulationLogWriteSerializer
    from tracker.entries.services.regulation import regulation_log_create

    body = {
        "id": str(uuid.uuid4()),
        "occurred_at": local_time(occurred_at),
        "trigger": "uncertainty",
        "emotions": [{"label": "fear", "intensity": 6}],
        "strategies": ["breathing"],
        **fields,
    }
    data = RegulationLogWriteSerializer(data=body)
    data.is_valid(raise_exception=True)
    outcome = regulation_log_create(user=user, **data.validated_data)
    assert outcome.status == "created", outcome
    return outcome.row


def produce_summary(user, *, week_start: date) -> WeeklySummary:
    """Run the weekly-summary producer for one local week of `user` and return the stored row."""
    from tracker.insights.services import Target, write_summaries

    write_summaries([Target(user.id, user.timezone, week_start)], computed_at=timezone.now())
    return WeeklySummary.objects.get(user=user, week_start=week_start)


def dimension_answers(code: str, anxiety: int, avoidance: int, *, target: str | None = None) -> list[dict]:
    """Answers to a shipped dimension-scored instrument (tracker/entries/instruments/<code>.v1.json) that
    score exactly (anxiety, avoidance): every item of a dimension answered so that, reverse keying
    applied, it reads that value. With `target` (ECR-RS), the items are answered for that target."""
    from tracker.entries.services.instruments import definitions_read

    definition = next(d for d in definitions_read() if d["code"] == code)
    wanted = {"anxiety": anxiety, "avoidance": avoidance}
    answers = []
    for item in definition["items"]:
        value = wanted[item["dimension"]]
        answer = {"item": item["number"], "value": 8 - value if item.get("reverse") else value}
        if target:
            answer["target"] = target
        answers.append(answer)
    return answers


def checkin_with(user, code: str, *, occurred_at: datetime, responses: list[dict]) -> CheckIn:
    """A check-in of the instrument `code` (newest version) created through the service, scored by its
    shipped key. Validated instruments need their wording loaded first (`tests.helpers.load_licensed_wording`)."""
    import uuid

    from tracker.entries.services.checkins import checkin_create
    from tracker.models import Instrument

    outcome = checkin_create(
        user=user,
        id=uuid.uuid4(),
        instrument=Instrument.objects.filter(code=code).order_by("-version").first(),
        occurred_at=occurred_at,
        utc_offset_minutes=0,
        responses=responses,
        note="",
    )
    assert outcome.status == "created", outcome
    return outcome.row
