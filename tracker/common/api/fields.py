"""Serializer fields shared by the entry endpoints: strict JSON types and offset-aware times."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from uuid import UUID

import django_filters
from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, nothing else: "5", 5.5, 5.0 and true are refused rather than coerced."""

    default_error_messages = {"invalid": "A JSON integer is required."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A JSON string, nothing else: numbers are refused rather than turned into text."""

    default_error_messages = {"invalid": "A JSON string is required."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "A JSON boolean (true or false) is required."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


@extend_schema_field(OpenApiTypes.DATETIME)
class OffsetDateTimeField(serializers.Field):
    """An ISO 8601 time WITH its UTC offset, e.g. `2026-03-01T21:30:00+01:00`.

    The offset is the phone's local offset at that moment, kept beside the UTC instant. Times more than
    ENTRY_FUTURE_TOLERANCE_MINUTES ahead of the server clock, or before 2000, are refused."""

    default_error_messages = {
        "invalid": "An ISO 8601 date-time with a UTC offset is required, e.g. 2026-03-01T21:30:00+01:00.",
        "naive": "The time needs its UTC offset (e.g. +01:00 or Z).",
        "future": "This time is in the future.",
        "past": "This time is implausibly far in the past.",
        "offset": "The UTC offset must be whole minutes within ±18 hours.",
    }

    def to_internal_value(self, data) -> datetime:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            value = parse_datetime(data)
        except ValueError:
            value = None
        if value is None:
            self.fail("invalid")
        offset = value.utcoffset()
        if offset is None:
            self.fail("naive")
        if offset % timedelta(minutes=1) or abs(offset) > timedelta(hours=18):
            self.fail("offset")
        if value > timezone.now() + timedelta(minutes=settings.ENTRY_FUTURE_TOLERANCE_MINUTES):
            self.fail("future")
        if value < EARLIEST:
            self.fail("past")
        return value

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


def offset_minutes(value: datetime) -> int:
    return int(value.utcoffset() // timedelta(minutes=1))


def local_isoformat(instant: datetime, utc_offset_minutes: int) -> str:
    """The stored UTC instant shown in the offset the phone recorded it with."""
    return instant.astimezone(dt_timezone(timedelta(minutes=utc_offset_minutes))).isoformat()


# --- Query-string times (since/until filters) ------------------------------------------------------
FILTER_DATETIME_HELP = (
    "ISO 8601 date-time, e.g. 2026-03-01T21:30:00+01:00 (without an offset: UTC); compared as the UTC "
    "instant, which must lie within years 0001-9999."
)


def parse_filter_datetime(value: str) -> datetime:
    """A since/until value → an aware UTC datetime; ValueError (with a message for the client) otherwise.

    The same rules on every list and on both databases: any offset RFC 3339 allows (whole minutes, under
    24 hours; the value is converted to UTC here, so the database never sees the offset, and PostgreSQL's
    ±15:59 limit on displacements does not apply), and the instant, once in UTC, must lie within years
    1-9999 (SQLite and Python cannot hold anything else)."""
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError("An ISO 8601 date-time is required, e.g. 2026-03-01T21:30:00+01:00.")
    offset = parsed.utcoffset()
    if offset is None:
        parsed = parsed.replace(tzinfo=UTC)
    elif offset % timedelta(minutes=1):
        raise ValueError("The UTC offset must be whole minutes.")
    try:
        instant = parsed.astimezone(UTC)
        # Both ends must stay representable after any further arithmetic the database does.
        if instant < datetime(1, 1, 2, tzinfo=UTC) or instant > datetime(9999, 12, 30, tzinfo=UTC):
            raise OverflowError
    except OverflowError:
        raise ValueError("The date-time is out of range (years 0001-9999 in UTC).") from None
    return instant


@extend_schema_field(OpenApiTypes.DATETIME)
class FilterDateTimeField(serializers.Field):
    """A since/until query parameter (see `parse_filter_datetime`)."""

    def to_internal_value(self, data) -> datetime:
        if not isinstance(data, str):
            raise serializers.ValidationError("An ISO 8601 date-time is required.")
        try:
            return parse_filter_datetime(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


class FilterDateTimeFormField(forms.Field):
    """The django-filter side of `parse_filter_datetime` (the therapist's shared lists)."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        try:
            return parse_filter_datetime(str(value))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class FilterDateTimeFilter(django_filters.Filter):
    field_class = FilterDateTimeFormField


# --- Ids -------------------------------------------------------------------------------------------
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_UUID_RE = re.compile(UUID_PATTERN)
UUID_HELP = "A UUID in its canonical 8-4-4-4-12 form, any case; stored and echoed in lower case."


def canonical_uuid(value) -> UUID | None:
    """The UUID of a canonical 8-4-4-4-12 string (any case), else None: no integers, booleans, urn: or
    32-hex forms, which `uuid.UUID` would convert."""
    if isinstance(value, UUID):
        return value
    if not isinstance(value, str) or not _UUID_RE.match(value):
        return None
    return UUID(value)


@extend_schema_field({"type": "string", "format": "uuid", "pattern": UUID_PATTERN})
class CanonicalUUIDField(serializers.UUIDField):
    """A client-generated id: a JSON string in the canonical UUID form, in any case."""

    default_error_messages = {"invalid": "A UUID string in the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx is required."}

    def to_internal_value(self, data):
        value = canonical_uuid(data)
        if value is None:
            self.fail("invalid")
        return value


class WholeItemSerializer(serializers.Serializer):
    """A list item (a check-in answer, an emotion) is validated whole, also inside a PATCH.

    DRF skips missing fields of nested serializers whenever the root serializer is partial, so half
    an item (`{"value": 1}`) would reach the service and fail there with a 500; here it is a 400
    naming the missing field."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        missing = {
            name: [field.error_messages["required"]]
            for name, field in self.fields.items()
            if field.required and not field.read_only and field.source not in value
        }
        if missing:
            raise serializers.ValidationError(missing)
        return value


# --- Lists -----------------------------------------------------------------------------------------
class UniqueListField(serializers.ListField):
    """A JSON array whose items must all differ; the schema says `uniqueItems: true`
    (tracker.common.api.schema.declare_input_rules), so clients know before sending."""

    unique_items = True
    default_error_messages = {"not_unique": "Each {item} may appear only once."}

    def __init__(self, *, item: str = "item", **kwargs):
        self.item = item
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if len(set(value)) != len(value):
            self.fail("not_unique", item=self.item)
        return value
