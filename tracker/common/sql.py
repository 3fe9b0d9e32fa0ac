"""Set-based SQL the ORM does not express: INSERT … ON CONFLICT DO NOTHING RETURNING.

Both PostgreSQL and SQLite (≥ 3.35) speak it, so one statement per chunk inserts the ledger rows
and tells the caller exactly which ones it won."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.db import connection, models
from django.utils.dateparse import parse_datetime

T = TypeVar("T")
CHUNK = 500


def chunked(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _placeholder(field: models.Field) -> str:
    # PostgreSQL cannot infer the types of parameters inside VALUES; SQLite needs no cast.
    if connection.vendor == "postgresql":
        return f"%s::{field.cast_db_type(connection)}"
    return "%s"


_NATIVE = (str, int, float, uuid.UUID, type(None))


def _pg_value(field: models.Field, value: Any) -> Any:
    """psycopg adapts these types itself; Django's per-value prep costs more than the statement."""
    if isinstance(value, _NATIVE) or (isinstance(value, datetime) and value.tzinfo is not None):
        return value
    return field.get_db_prep_save(value, connection)


def _array_placeholder(field: models.Field) -> str:
    return f"%s::{field.cast_db_type(connection)}[]"


def insert_rows(
    model: type[models.Model],
    rows: list[dict[str, Any]],
    *,
    conflict: list[str] | None = None,
    returning: list[str] | None = None,
) -> list[tuple]:
    """Insert `rows` (dicts keyed by field attname, all with the same keys), CHUNK rows per statement.

    With `conflict`, rows that hit the unique constraint on those fields are skipped (ON CONFLICT DO
    NOTHING); with `returning`, those columns of the rows actually inserted are returned."""
    if not rows:
        return []
    meta = model._meta
    quote = connection.ops.quote_name
    fields = [meta.get_field(name) for name in rows[0]]
    columns = ", ".join(quote(field.column) for field in fields)
    placeholder = "(" + ", ".join(_placeholder(field) for field in fields) + ")"
    suffix = ""
    if conflict:
        suffix += f" ON CONFLICT ({', '.join(quote(meta.get_field(name).column) for name in conflict)}) DO NOTHING"
    returning_fields = [meta.get_field(name) for name in returning or []]
    if returning_fields:
        suffix += " RETURNING " + ", ".join(quote(field.column) for field in returning_fields)
    result: list[tuple] = []
    table = quote(meta.db_table)
    with connection.cursor() as cursor:
        for chunk in chunked(rows):
            # Only quoted identifiers and placeholders are interpolated; values go as parameters.
            if connection.vendor == "postgresql":
                # One array parameter per column: the statement stays short whatever the chunk size.
                params = [[_pg_value(field, row[field.attname]) for row in chunk] for field in fields]
                arrays = ", ".join(_array_placeholder(field) for field in fields)
                sql = f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}){suffix}"  # noqa: S608
            else:
                params = [field.get_db_prep_save(row[field.attname], connection) for row in chunk for field in fields]
                values = ", ".join([placeholder] * len(chunk))
                sql = f"INSERT INTO {table} ({columns}) VALUES {values}{suffix}"  # noqa: S608
            cursor.execute(sql, params)
            if returning_fields:
                result.extend(
                    tuple(_to_python(field, value) for field, value in zip(returning_fields, row, strict=True))
                    for row in cursor.fetchall()
                )
    return result


def insert_ignore_returning(
    model: type[models.Model], rows: list[dict[str, Any]], *, conflict: list[str], returning: list[str]
) -> list[tuple]:
    return insert_rows(model, rows, conflict=conflict, returning=returning)


def update_rows(model: type[models.Model], objects: Sequence[models.Model], fields: list[str]) -> int:
    """Write `fields` of many objects with one statement per CHUNK: `UPDATE t SET … FROM unnest(arrays)`
    on PostgreSQL, `WITH v(pk, …) AS (VALUES …) UPDATE t SET … FROM v` on SQLite (≥ 3.33).
    Unlike bulk_update's CASE WHEN per row, the work is linear in the chunk size."""
    if not objects:
        return 0
    meta = model._meta
    quote = connection.ops.quote_name
    pk = meta.pk
    targets = [meta.get_field(name) for name in fields]
    all_fields = [pk, *targets]
    names = ", ".join(f"c{i}" for i in range(len(all_fields)))
    placeholder = "(" + ", ".join(_placeholder(field) for field in all_fields) + ")"
    table = quote(meta.db_table)
    assignments = ", ".join(f"{quote(field.column)} = v.c{i + 1}" for i, field in enumerate(targets))
    updated = 0
    with connection.cursor() as cursor:
        for chunk in chunked(objects):
            if connection.vendor == "postgresql":
                params = [[_pg_value(field, getattr(obj, field.attname)) for obj in chunk] for field in all_fields]
                arrays = ", ".join(_array_placeholder(field) for field in all_fields)
                sql = f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v({names}) "  # noqa: S608
            else:
                params = [
                    field.get_db_prep_save(getattr(obj, field.attname), connection)
                    for obj in chunk
                    for field in all_fields
                ]
                values = ", ".join([placeholder] * len(chunk))
                sql = f"WITH v({names}) AS (VALUES {values}) UPDATE {table} SET {assignments} FROM v "  # noqa: S608
            sql += f"WHERE {table}.{quote(pk.column)} = v.c0"
            cursor.execute(sql, params)
            updated += cursor.rowcount
    return updated


def _to_python(field: models.Field, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(field, models.DateTimeField) and isinstance(value, str):  # SQLite stores text
        parsed = parse_datetime(value)
        return parsed.replace(tzinfo=UTC) if parsed and parsed.tzinfo is None else parsed
    if isinstance(field, (models.UUIDField, models.ForeignKey)) and not isinstance(value, (uuid.UUID, int)):
        return uuid.UUID(str(value))
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class LocalWeekStart(models.Func):
    """The local Monday (a date) of the ISO week in which a UTC timestamp falls, on the wall clock of a
    timezone read *per row* from a column (e.g. `user__timezone`).

    Django's `Trunc(..., tzinfo=)` takes one timezone for the whole query; a therapist's client list
    groups many clients' check-ins, each in their own timezone, in one statement. The SQL is what
    `Trunc("week", tzinfo=)` emits on each backend, with the column in place of the constant name:
    `AT TIME ZONE` on PostgreSQL, Django's own `django_datetime_trunc` (zoneinfo, DST included) on
    SQLite — so the weeks are cut exactly as `tracker.common.weeks.local_week_start` cuts them."""

    output_field = models.DateField()
    arity = 2

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="(date_trunc('week', %(expressions)s))::date", arg_joiner=" AT TIME ZONE "
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = self.as_sql(
            compiler, connection, template="substr(django_datetime_trunc('week', %(expressions)s, %%s), 1, 10)"
        )
        return sql, (*params, connection.timezone_name)
