"""The account shapes other packages reuse (the profile in the export)."""

from rest_framework import serializers

from tracker.common.timezones import available_timezones
from tracker.models import User


class TimezoneField(serializers.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value not in available_timezones():
            raise serializers.ValidationError(f"“{value}” is not an IANA time zone name (e.g. Europe/Berlin).")
        return value


class UserSerializer(serializers.ModelSerializer):
    is_verified = serializers.BooleanField(
        source="is_verified_therapist",
        read_only=True,
        help_text="A therapist whose licence a clinic verified, unexpired and not suspended (derived, never set).",
    )

    class Meta:
        model = User
        fields = ["id", "email", "display_name", "role", "is_verified", "timezone", "locale", "country", "date_joined"]
        read_only_fields = fields
