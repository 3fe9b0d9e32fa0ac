"""The one write path for everything a phone logs (check-ins, regulation logs): create, update, delete.

REST endpoints send one write, `POST sync/` up to 500; both go through `entries_apply`, so the
idempotency, conflict and change-feed rules are the same everywhere, and a batch costs a fixed number
of queries (one counter update, one select per entry type, bulk insert/update, one re-select).

Rules:
- create: a new id is inserted. An existing id with the same content is `unchanged` (a retry), with
  different content, another owner or a tombstone it is a `conflict` (409). Concurrent duplicates end
  as one row: the primary key decides (`INSERT … ON CONFLICT DO NOTHING`, then a re-select), not a
  check-then-insert.
- update: only the owner's live rows (else `invalid`/not_found → 404); same content is `unchanged`;
  a stale `base_revision` or a closed edit window is a `conflict`.
- delete: leaves a tombstone (`deleted_at`, note scrubbed) that the change feed delivers.
Every effective write bumps `revision` and takes a fresh position in the owner's change feed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal
from uuid import UUID

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from tracker.common.errors import ApplicationError, Conflict, NotFound
from tracker.models import ChangeCounter

Op = Literal["create", "update", "delete"]
Status = Literal["created", "updated", "deleted", "unchanged", "conflict", "invalid"]


def edit_window() -> timedelta:
    """How long after its creation an entry may be edited freely (every entry type)."""
    return timedelta(hours=settings.ENTRY_EDIT_WINDOW_HOURS)


class EntryKind:
    """What the engine needs to know about one entry type; subclassed per model."""

    name: ClassVar[str]  # the `type` in the sync protocol, e.g. "checkin"
    model: ClassVar[type[models.Model]]
    # Fields compared for idempotency (what the client sent, not what the server derived).
    content_fields: ClassVar[tuple[str, ...]]
    # Every field a create or update writes (content plus derived, e.g. scores).
    value_fields: ClassVar[tuple[str, ...]]
    select_related: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def content(cls, source: models.Model | dict) -> dict:
        get = source.get if isinstance(source, dict) else lambda name: getattr(source, name)
        return {name: get(name) for name in cls.content_fields}

    @classmethod
    def update_refusal(cls, row: models.Model, values: dict, now: datetime) -> Conflict | None:
        """Why this row may not take these values now (e.g. the edit window closed), or None."""
        return None


@dataclass(frozen=True)
class EntryWrite:
    kind: type[EntryKind]
    op: Op
    id: UUID
    values: dict | None = None  # model field values (validated, derived fields computed)
    base_revision: int | None = None


@dataclass
class WriteOutcome:
    kind: type[EntryKind]
    id: UUID
    status: Status
    row: models.Model | None = None  # the current row if the caller may see it
    error: ApplicationError | None = None
    extra: dict = field(default_factory=dict)


def change_seqs_reserve(*, user, count: int) -> int:
    """Reserve `count` change-feed positions for `user`; returns the first.

    One statement that both increments and row-locks the user's counter until commit (PostgreSQL;
    SQLite serialises every write transaction anyway), so one user's writes commit in position order."""
    table = connection.ops.quote_name(ChangeCounter._meta.db_table)
    user_id = ChangeCounter._meta.get_field("user").get_db_prep_value(user.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (user_id, last_seq) VALUES (%s, %s) "  # noqa: S608 - table name from model meta
            f"ON CONFLICT (user_id) DO UPDATE SET last_seq = {table}.last_seq + excluded.last_seq "
            "RETURNING last_seq",
            [user_id, count],
        )
        (last,) = cursor.fetchone()
    return last - count + 1


def _conflict(message: str, code: str = "conflict") -> Conflict:
    return Conflict(message, code=code)


ID_TAKEN = "A record with this id already exists with different content."


def _decide_create(write: EntryWrite, row, user) -> WriteOutcome:
    kind = write.kind
    if row.user_id != user.pk:
        # Indistinguishable from "yours, different body": reveals nothing about other users.
        return WriteOutcome(kind, write.id, "conflict", None, _conflict(ID_TAKEN))
    if row.deleted_at is not None:
        return WriteOutcome(kind, write.id, "conflict", row, _conflict("This record was deleted.", "deleted"))
    if kind.content(row) == kind.content(write.values):
        return WriteOutcome(kind, write.id, "unchanged", row)
    return WriteOutcome(kind, write.id, "conflict", row, _conflict(ID_TAKEN))


# Databases on which creates skip the select: `INSERT … ON CONFLICT DO NOTHING RETURNING id`, then a
# SELECT only for the ids that were already there. Elsewhere (SQLite): select, INSERT … ON CONFLICT DO
# NOTHING, re-select. Both give the same outcomes (tests/entries/test_entries_insert_first.py).
INSERT_FIRST_VENDORS = frozenset({"postgresql"})


def _insert_returning_ids(model: type[models.Model], rows: list[models.Model]) -> set:
    """`INSERT … ON CONFLICT DO NOTHING RETURNING pk` for `rows`; the primary keys actually inserted."""
    from django.db.models.constants import OnConflict
    from django.db.models.sql import InsertQuery

    opts = model._meta
    fields = [f for f in opts.concrete_fields if not f.generated]
    batch = connection.ops.bulk_batch_size(fields, rows) or len(rows)
    inserted: set = set()
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            query = InsertQuery(model, on_conflict=OnConflict.IGNORE)
            query.insert_values(fields, rows[start : start + batch])
            compiler = query.get_compiler(connection=connection)
            compiler.returning_fields = [opts.pk]
            for statement, params in compiler.as_sql():
                cursor.execute(statement, params)
                inserted.update(opts.pk.to_python(row[0]) for row in cursor.fetchall())
    for row in rows:
        row._state.adding, row._state.db = False, connection.alias
    return inserted


@transaction.atomic
def entries_apply(*, user, writes: Sequence[EntryWrite], now: datetime | None = None) -> list[WriteOutcome]:
    """Apply validated writes (ids unique within the call) for `user`; one outcome per write, in order."""
    now = now or timezone.now()
    if not writes:
        return []
    assert len({(w.kind.name, w.id) for w in writes}) == len(writes), "ids must be unique per call"
    next_seq = change_seqs_reserve(user=user, count=len(writes))  # first: serialises this user's writers

    insert_first = connection.vendor in INSERT_FIRST_VENDORS
    kinds = {w.kind for w in writes}
    existing: dict[tuple[str, UUID], Any] = {}
    for kind in kinds:
        ids = [w.id for w in writes if w.kind is kind and not (insert_first and w.op == "create")]
        if not ids:
            continue
        for row in kind.model.objects.filter(id__in=ids).select_related(*kind.select_related):
            existing[(kind.name, row.id)] = row

    outcomes: list[WriteOutcome | None] = [None] * len(writes)
    inserts: dict[type[EntryKind], list[tuple[int, Any]]] = {}
    saves: dict[type[EntryKind], list[Any]] = {}
    for index, write in enumerate(writes):
        kind, row = write.kind, existing.get((write.kind.name, write.id))
        if write.op == "create":
            if row is not None:
                outcomes[index] = _decide_create(write, row, user)
                continue
            new = kind.model(
                id=write.id, user=user, revision=1, change_seq=next_seq, created_at=now, updated_at=now, **write.values
            )
            next_seq += 1
            inserts.setdefault(kind, []).append((index, new))
            continue

        if row is None or row.user_id != user.pk or (row.deleted_at is not None and write.op == "update"):
            if row is not None and row.user_id == user.pk:
                error = _conflict("This record was deleted.", "deleted")
                outcomes[index] = WriteOutcome(kind, write.id, "conflict", row, error)
            else:
                outcomes[index] = WriteOutcome(kind, write.id, "invalid", None, NotFound())
            continue

        if write.op == "delete":
            if row.deleted_at is not None:
                outcomes[index] = WriteOutcome(kind, write.id, "unchanged", row)
                continue
            row.deleted_at, row.note = now, ""
            status: Status = "deleted"
        else:
            if kind.content(row) == kind.content(write.values):
                outcomes[index] = WriteOutcome(kind, write.id, "unchanged", row)
                continue
            if write.base_revision is not None and write.base_revision != row.revision:
                error = _conflict(
                    f"This record changed since revision {write.base_revision} (now {row.revision}).", "stale_revision"
                )
                outcomes[index] = WriteOutcome(kind, write.id, "conflict", row, error)
                continue
            refusal = kind.update_refusal(row, write.values, now)
            if refusal is not None:
                outcomes[index] = WriteOutcome(kind, write.id, "conflict", row, refusal)
                continue
            for name, value in write.values.items():
                setattr(row, name, value)
            status = "updated"
        row.revision += 1
        row.change_seq, next_seq = next_seq, next_seq + 1
        row.updated_at = now
        saves.setdefault(kind, []).append(row)
        outcomes[index] = WriteOutcome(kind, write.id, status, row)

    for kind, rows in saves.items():
        fields = ["deleted_at", "note", "revision", "change_seq", "updated_at", *kind.value_fields]
        kind.model.objects.bulk_update(rows, list(dict.fromkeys(fields)))

    for kind, pending in inserts.items():
        if insert_first:
            inserted = _insert_returning_ids(kind.model, [row for _, row in pending])
            stored = {row.id: (user.pk, row.change_seq) for _, row in pending if row.id in inserted}
        else:
            stored = _insert_then_select(kind, pending)
        raced = []
        for index, row in pending:
            if stored.get(row.id) == (user.pk, row.change_seq):
                outcomes[index] = WriteOutcome(kind, row.id, "created", row)
            else:
                raced.append((index, row))
        if raced:
            # Someone else inserted the same id between our select and insert (rare): judge it as
            # a create against what is stored now.
            winners = kind.model.objects.select_related(*kind.select_related).in_bulk([row.id for _, row in raced])
            for index, _row in raced:
                outcomes[index] = _decide_create(writes[index], winners[writes[index].id], user)

    return outcomes  # type: ignore[return-value]


def _insert_then_select(kind: type[EntryKind], pending: list[tuple[int, Any]]) -> dict:
    """INSERT … ON CONFLICT DO NOTHING, then re-select owner and change position of every id."""
    kind.model.objects.bulk_create([row for _, row in pending], ignore_conflicts=True)
    return {
        row_id: (owner, seq)
        for row_id, owner, seq in kind.model.objects.filter(id__in=[row.id for _, row in pending]).values_list(
            "id", "user_id", "change_seq"
        )
    }
