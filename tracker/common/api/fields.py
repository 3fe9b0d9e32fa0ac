"""Serializer fields shared by the entry endpoints: strict JSON types and offset-aware times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone

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
