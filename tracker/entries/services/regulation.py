"""Emotion-regulation logs: episodes logged while they happen and completed later, with a safety signal.

Writes go through `tracker.entries.services.entries.entries_apply` (idempotency, conflicts, change feed).

Safety: a log is flagged when the user answers the safety question with yes, or when an episode of
intensity >= 9 has no recovery recorded SAFETY_NO_RECOVERY_MINUTES after it happened. The second rule
is checked on every write and by a scheduler job (`safety_sweep_job`), so the flag appears even if the
phone never comes back. Flagged responses carry crisis resources; nothing here implies that anyone
is watching in real time."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tracker.common.errors import Conflict, Invalid
from tracker.entries.services.entries import (
    EntryKind,
    EntryWrite,
    WriteOutcome,
    change_seqs_reserve,
    edit_window,
    entries_apply,
)
from tracker.models import RegulationLog, SafetyReason, User

HIGH_INTENSITY = 9
# Fields a phone fills in when the episode is over; empty ones may be completed after the edit window.
COMPLETION_FIELDS = ("intensity_after", "recovery_minutes", "reached_out", "reached_out_helped")
CONTENT_FIELDS = (
    "occurred_at",
    "utc_offset_minutes",
    "trigger",
    "trigger_target",
    "emotions",
    "intensity_before",
    "intensity_after",
    "strategies",
    "reached_out",
    "reached_out_helped",
    "recovery_minutes",
    "safety_answer",
    "note",
)


def no_recovery_due(*, intensity_before, intensity_after, recovery_minutes, occurred_at, now: datetime) -> bool:
    """The "extreme intensity and no recovery after a while" rule."""
    return (
        intensity_before is not None
        and intensity_before >= HIGH_INTENSITY
        and recovery_minutes is None
        and (intensity_after is None or intensity_after >= HIGH_INTENSITY)
        and occurred_at <= now - timedelta(minutes=settings.SAFETY_NO_RECOVERY_MINUTES)
    )


class RegulationLogKind(EntryKind):
    name = "regulation_log"
    model = RegulationLog
    content_fields = CONTENT_FIELDS
    value_fields = (*CONTENT_FIELDS, "safety_flag", "safety_no_recovery_at", "safety_reason")

    @classmethod
    def update_refusal(cls, row, values, now):
        if now <= row.created_at + edit_window():
            return None
        # After the window only completion is allowed: empty completion fields may be filled in.
        for name in CONTENT_FIELDS:
            old, new = getattr(row, name), values[name]
            if old == new:
                continue
            if name in COMPLETION_FIELDS and old is None:
                continue
            return Conflict(
                f"Logs can be edited for {settings.ENTRY_EDIT_WINDOW_HOURS} hours; after that only empty "
                f"fields of {', '.join(COMPLETION_FIELDS)} can be completed.",
                code="edit_window_closed",
            )
        return None


def regulation_values(*, fields: dict, previous: RegulationLog | None = None, now: datetime | None = None) -> dict:
    """Model field values for a log (validated fields in), with the safety flag worked out.

    Rules across fields are checked on the merged state (a PATCH may send only one of them)."""
    now = now or timezone.now()
    values = {name: fields.get(name) for name in CONTENT_FIELDS}
    if values["intensity_after"] is not None and values["intensity_before"] is None:
        raise Invalid({"intensity_after": ["Needs intensity_before."]})
    if values["reached_out_helped"] is not None and values["reached_out"] is not True:
        raise Invalid({"reached_out_helped": ["Only when reached_out is true."]})
    values["trigger_target"] = values["trigger_target"] or ""
    values["emotions"] = values["emotions"] or []
    values["strategies"] = values["strategies"] or []
    values["note"] = values["note"] or ""
    no_recovery_at = previous.safety_no_recovery_at if previous is not None else None
    if no_recovery_at is None and no_recovery_due(now=now, **{k: values[k] for k in _RULE_FIELDS}):
        no_recovery_at = now
    values["safety_no_recovery_at"] = no_recovery_at
    values["safety_reason"] = safety_reason(safety_answer=values["safety_answer"], no_recovery_at=no_recovery_at)
    values["safety_flag"] = bool(values["safety_reason"])
    return values


def safety_reason(*, safety_answer: bool | None, no_recovery_at: datetime | None) -> str:
    """The rule that flags a log ("" for none). The safety answer names the reason when both apply:
    an urge to self-harm is the signal a therapist most needs to read first."""
    if safety_answer:
        return SafetyReason.SAFETY_ANSWER
    if no_recovery_at is not None:
        return SafetyReason.INTENSITY_WITHOUT_RECOVERY
    return ""


_RULE_FIELDS = ("intensity_before", "intensity_after", "recovery_minutes", "occurred_at")


def regulation_log_create(*, user, id: UUID, now: datetime | None = None, **fields) -> WriteOutcome:
    """Create (or recognise a retry of) a log: `created`, `unchanged` or `conflict`."""
    values = regulation_values(fields=fields, now=now)
    return entries_apply(user=user, writes=[EntryWrite(RegulationLogKind, "create", id, values)], now=now)[0]


def regulation_log_update(
    *, user, log: RegulationLog, changes: dict, base_revision: int | None = None, now: datetime | None = None
) -> WriteOutcome:
    """Change or complete a live log (partial changes merged over what is stored)."""
    current = {name: getattr(log, name) for name in CONTENT_FIELDS}
    current.update(changes)
    values = regulation_values(fields=current, previous=log, now=now)
    write = EntryWrite(RegulationLogKind, "update", log.id, values, base_revision=base_revision)
    return entries_apply(user=user, writes=[write], now=now)[0]


def regulation_log_delete(*, user, log: RegulationLog, now: datetime | None = None) -> WriteOutcome:
    return entries_apply(user=user, writes=[EntryWrite(RegulationLogKind, "delete", log.id)], now=now)[0]


def safety_sweep_job(*, now: datetime) -> int:
    """Scheduler job: mark open high-intensity episodes whose recovery never came. Returns logs marked.

    A mark is a change like any other (new revision and feed position), so phones and a therapist with
    the right scope see it."""
    cutoff = now - timedelta(minutes=settings.SAFETY_NO_RECOVERY_MINUTES)
    due = list(
        RegulationLog.objects.filter(
            intensity_before__gte=HIGH_INTENSITY,
            recovery_minutes__isnull=True,
            safety_no_recovery_at__isnull=True,
            deleted_at__isnull=True,
            occurred_at__lte=cutoff,
        )
        .exclude(intensity_after__lt=HIGH_INTENSITY)
        .values_list("user_id", "id")[:1000]
    )
    by_user: dict = {}
    for user_id, log_id in due:
        by_user.setdefault(user_id, []).append(log_id)
    marked = 0
    for user_id, log_ids in by_user.items():
        with transaction.atomic():
            seq = change_seqs_reserve(user=User(pk=user_id), count=len(log_ids))
            rows = list(
                RegulationLog.objects.select_for_update().filter(
                    id__in=log_ids, safety_no_recovery_at__isnull=True, recovery_minutes__isnull=True
                )
            )
            for offset, row in enumerate(rows):
                row.safety_no_recovery_at, row.safety_flag = now, True
                row.safety_reason = safety_reason(safety_answer=row.safety_answer, no_recovery_at=now)
                row.revision += 1
                row.change_seq = seq + offset
                row.updated_at = now
            RegulationLog.objects.bulk_update(
                rows, ["safety_no_recovery_at", "safety_flag", "safety_reason", "revision", "change_seq", "updated_at"]
            )
            marked += len(rows)
    return marked


# --- Crisis resources ------------------------------------------------------------------------------
@lru_cache(maxsize=4)
def _crisis_table(path: str, mtime: float) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def country_for(*, country: str | None, locale: str | None) -> str | None:
    """The user's ISO 3166 country: the profile field, else the region of the locale (`es-US` -> US)."""
    if country and len(country) == 2 and country.isalpha():
        return country.upper()
    for part in (locale or "").replace("_", "-").split("-")[1:]:
        if len(part) == 2 and part.isalpha():
            return part.upper()
    return None


def crisis_resources(country: str | None) -> dict:
    """Resources for an ISO 3166 country (`US`), else the international `default`.

    Chosen by country, never by language: a Spanish speaker in the US needs 988, not a Spanish line."""
    path = Path(settings.CRISIS_RESOURCES_FILE)
    table = _crisis_table(str(path), path.stat().st_mtime)
    countries = table.get("countries") or {}
    key = (country or "").upper()
    if key in countries:
        return {"country": key, **countries[key]}
    return {"country": None, **table["default"]}


def crisis_resources_for_user(user) -> dict:
    return crisis_resources(country_for(country=getattr(user, "country", ""), locale=getattr(user, "locale", "")))
