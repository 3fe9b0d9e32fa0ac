"""Belief check-ins: scoring a response set with its pinned instrument version, and writing it.

Writes go through `tracker.entries.services.entries.entries_apply` (idempotency, conflicts, change feed)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.conf import settings

from tracker.common.errors import Conflict, Invalid
from tracker.entries.selectors.instruments import InstrumentCatalog
from tracker.entries.services.entries import EntryKind, EntryWrite, WriteOutcome, edit_window, entries_apply
from tracker.entries.services.instruments import wording_loaded
from tracker.insights import scoring
from tracker.models import CheckIn, Instrument, SafetyReason


def responses_normalize(responses: list[dict]) -> list[dict]:
    """Stable stored form: `{"item", "value"}` (+ `"target"`), sorted by target then item."""
    normal = []
    for response in responses:
        entry = {"item": response["item"], "value": response["value"]}
        if response.get("target") is not None:
            entry["target"] = response["target"]
        normal.append(entry)
    return sorted(normal, key=lambda r: (r.get("target") or "", r["item"]))


class CheckInKind(EntryKind):
    name = "checkin"
    model = CheckIn
    content_fields = ("instrument_id", "occurred_at", "utc_offset_minutes", "responses", "note", "safety_answer")
    value_fields = (
        "instrument",
        "occurred_at",
        "utc_offset_minutes",
        "responses",
        "note",
        "anxiety",
        "avoidance",
        "self_model",
        "other_model",
        "distance_to_secure",
        "quadrant",
        "extra_scores",
        "safety_answer",
        "safety_flag",
        "safety_reason",
    )
    select_related = ("instrument",)

    @classmethod
    def content(cls, source) -> dict:
        if isinstance(source, dict):
            source = {**source, "instrument_id": source["instrument"].pk}
        return super().content(source)

    @classmethod
    def update_refusal(cls, row, values, now):
        if values["instrument"].pk != row.instrument_id:
            return Conflict("A check-in's instrument cannot change; delete it and create a new one.")
        if now > row.created_at + edit_window():
            return Conflict(
                f"Check-ins can be edited for {settings.ENTRY_EDIT_WINDOW_HOURS} hours.", code="edit_window_closed"
            )
        return None


def checkin_values(
    *,
    instrument: Instrument,
    occurred_at: datetime,
    utc_offset_minutes: int,
    responses: list[dict],
    note: str = "",
    catalog: InstrumentCatalog | None = None,
    safety_answer: bool | None = None,
) -> dict:
    """Model field values for a check-in, scores included; `Invalid` naming `responses` if unscorable,
    `Conflict(code="instrument_wording_missing")` for an instrument whose licensed wording is not loaded."""
    if not wording_loaded(instrument.definition):
        raise Conflict(
            f"{instrument.code} v{instrument.version} has no item wording loaded yet; a clinic must load its "
            "licensed wording (manage.py load_instruments --path DIR) before check-ins can use it.",
            code="instrument_wording_missing",
        )
    key = catalog.scoring_key(instrument) if catalog else scoring.key_from_definition(instrument.definition)
    try:
        scores = scoring.score(key, responses, cut=settings.QUADRANT_CUT)
    except scoring.ScoringError as exc:
        raise Invalid({exc.field: [str(exc)]}) from None
    return {
        "instrument": instrument,
        "occurred_at": occurred_at,
        "utc_offset_minutes": utc_offset_minutes,
        "responses": responses_normalize(responses),
        "note": note,
        "anxiety": scores.anxiety,
        "avoidance": scores.avoidance,
        "self_model": scores.self_model,
        "other_model": scores.other_model,
        "distance_to_secure": scores.distance_to_secure,
        "quadrant": scores.quadrant,
        "extra_scores": scores.extra,
        "safety_answer": safety_answer,
        "safety_flag": bool(safety_answer),
        # A check-in has one safety rule: the answer to the safety question.
        "safety_reason": SafetyReason.SAFETY_ANSWER if safety_answer else "",
    }


def checkin_create(
    *,
    user,
    id: UUID,
    instrument: Instrument,
    occurred_at: datetime,
    utc_offset_minutes: int,
    responses: list[dict],
    note: str = "",
    now: datetime | None = None,
    safety_answer: bool | None = None,
) -> WriteOutcome:
    """Create (or recognise a retry of) a check-in: `created`, `unchanged` or `conflict`."""
    values = checkin_values(
        instrument=instrument,
        occurred_at=occurred_at,
        utc_offset_minutes=utc_offset_minutes,
        responses=responses,
        note=note,
        safety_answer=safety_answer,
    )
    return entries_apply(user=user, writes=[EntryWrite(CheckInKind, "create", id, values)], now=now)[0]


def checkin_update(
    *, user, checkin: CheckIn, changes: dict, base_revision: int | None = None, now: datetime | None = None
) -> WriteOutcome:
    """Edit `occurred_at`/`utc_offset_minutes`/`responses`/`note` of a live check-in; scores are recomputed
    with the instrument version it was created with."""
    current = {
        "instrument": checkin.instrument,
        "occurred_at": checkin.occurred_at,
        "utc_offset_minutes": checkin.utc_offset_minutes,
        "responses": checkin.responses,
        "note": checkin.note,
        "safety_answer": checkin.safety_answer,
    }
    current.update(changes)
    values = checkin_values(**current)
    write = EntryWrite(CheckInKind, "update", checkin.id, values, base_revision=base_revision)
    return entries_apply(user=user, writes=[write], now=now)[0]


def checkin_delete(*, user, checkin: CheckIn, now: datetime | None = None) -> WriteOutcome:
    return entries_apply(user=user, writes=[EntryWrite(CheckInKind, "delete", checkin.id)], now=now)[0]
