"""Request and response shapes for reminders, devices and the inbox. Strict types: a string where a
boolean or integer belongs is a 400, not a guess."""

from __future__ import annotations

import re

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from notifications.models import Device, InboxItem
from notifications.transports import TRANSPORTS, Channel, channel_choices
from tracker.common.api.fields import StrictBooleanField, StrictCharField, StrictIntegerField, UniqueListField

MAX_TIMES = 12


WALL_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
# A schedule entry as the schema states it: "HH:MM" or a window "HH:MM-HH:MM".
SCHEDULE_ENTRY = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9](-([01][0-9]|2[0-3]):[0-5][0-9])?$")


@extend_schema_field({"type": "string", "pattern": WALL_TIME.pattern, "example": "20:30"})
class WallTimeField(serializers.TimeField):
    """A local wall time as "HH:MM" (24 h, two digits each, as the schema's pattern says; strptime
    alone would also take "9:5")."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", input_formats=["%H:%M"], **kwargs)

    def to_internal_value(self, value):
        if not isinstance(value, str) or not WALL_TIME.match(value):
            self.fail("invalid", format="HH:MM")
        return super().to_internal_value(value)


class ScheduleEntryField(serializers.CharField):
    """A fixed local wall time "HH:MM", or a window "HH:MM-HH:MM" (start before end on the same day,
    end exclusive) in which each day's nudge comes at a random minute. Normalised to zero-padded text."""

    default_error_messages = {
        "entry": 'Expected "HH:MM" or a window "HH:MM-HH:MM".',
        "order": "A window must start before it ends, on the same day.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", 'A wall time "09:00" or a random-time window "09:00-12:00".')
        super().__init__(max_length=11, **kwargs)
        # Stated in the schema as a pattern (drf-spectacular reads RegexValidator).
        self.validators.append(RegexValidator(SCHEDULE_ENTRY, message=self.error_messages["entry"]))

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("entry")
        parts = value.split("-")
        if len(parts) > 2:
            self.fail("entry")
        if not all(parts):
            self.fail("entry")
        walls = [WallTimeField().run_validation(part) for part in parts]
        if len(walls) == 2 and not walls[0] < walls[1]:
            self.fail("order")
        return "-".join(wall.strftime("%H:%M") for wall in walls)


class QuietHoursSerializer(serializers.Serializer):
    start = WallTimeField(help_text="Local time quiet hours begin, e.g. 22:00.")
    end = WallTimeField(help_text="Local time they end, e.g. 07:00 (may be on the next day).")

    def validate(self, attrs):
        if attrs["start"] == attrs["end"]:
            raise serializers.ValidationError({"end": ["Quiet hours must not start and end at the same time."]})
        return attrs


class ReminderScheduleInputSerializer(serializers.Serializer):
    times = UniqueListField(
        item="time",
        child=ScheduleEntryField(),
        max_length=MAX_TIMES,
        help_text='Local wall times or random-time windows, e.g. ["09:00", "13:00-17:00"].',
    )
    weekdays = UniqueListField(
        item="weekday",
        child=StrictIntegerField(min_value=1, max_value=7),
        max_length=7,
        help_text="ISO weekdays, Monday = 1 … Sunday = 7.",
    )
    quiet_hours = QuietHoursSerializer(required=False, allow_null=True, default=None)
    skip_if_done = StrictBooleanField(required=False, default=True)
    channels = UniqueListField(
        item="channel",
        child=serializers.ChoiceField(choices=channel_choices()),
        max_length=len(TRANSPORTS),
        required=False,
        default=lambda: [Channel.INBOX, Channel.PUSH],
        help_text="Where nudges go; the in-app inbox is always included.",
    )
    paused_until = serializers.DateTimeField(required=False, allow_null=True, default=None)
    enabled = StrictBooleanField(required=False, default=True, help_text="false pauses all nudges.")


class ReminderScheduleSerializer(serializers.Serializer):
    times = serializers.SerializerMethodField()
    weekdays = serializers.ListField(child=serializers.IntegerField())
    quiet_hours = serializers.SerializerMethodField()
    skip_if_done = serializers.BooleanField()
    channels = serializers.ListField(child=serializers.CharField())
    paused_until = serializers.DateTimeField(allow_null=True)
    enabled = serializers.BooleanField()
    next_due_at = serializers.DateTimeField(allow_null=True, help_text="The next nudge, in UTC.")
    timezone = serializers.CharField(source="user.timezone", help_text="The profile timezone times are in.")
    push_available = serializers.SerializerMethodField(help_text="False when the server has no push credentials.")

    def get_times(self, schedule) -> list[str]:
        return list(schedule.times)

    @staticmethod
    def _quiet(schedule) -> dict | None:
        if schedule.quiet_start is None or schedule.quiet_end is None:
            return None
        return {"start": schedule.quiet_start.strftime("%H:%M"), "end": schedule.quiet_end.strftime("%H:%M")}

    def get_quiet_hours(self, schedule) -> QuietHoursSerializer(allow_null=True):  # type: ignore[valid-type]
        return self._quiet(schedule)

    def get_push_available(self, schedule) -> bool:
        return TRANSPORTS[Channel.PUSH].configured()


class DeviceInputSerializer(serializers.Serializer):
    platform = serializers.ChoiceField(choices=Device.Platform.choices)
    token = StrictCharField(max_length=4096, help_text="The FCM registration token.")
    app_version = StrictCharField(max_length=32, required=False, allow_blank=True, default="")


class DeviceTokenSerializer(serializers.Serializer):
    token = StrictCharField(max_length=4096, help_text="The FCM registration token to remove.")


class DeviceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Device
        fields = ["id", "platform", "token", "app_version", "enabled", "created_at", "updated_at"]
        read_only_fields = fields


class InboxItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = InboxItem
        fields = ["id", "kind", "title", "body", "deep_link", "created_at", "read_at", "opened_at"]
        read_only_fields = fields


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField()


class PromptSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sent_at = serializers.DateTimeField(source="slot", help_text="The slot the nudge was sent for (UTC).")
    expires_at = serializers.DateTimeField(help_text="A check-in before this answers the prompt.")
    state = serializers.ChoiceField(
        choices=["open", "answered", "missed"], help_text="missed: expired without a check-in in time."
    )
    answered_at = serializers.DateTimeField(allow_null=True, help_text="The check-in that answered it.")
    late_at = serializers.DateTimeField(
        allow_null=True,
        help_text="A check-in after expiry (before the next prompt): stored, but the prompt stays missed.",
    )
