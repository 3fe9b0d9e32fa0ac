"""The account shapes other packages reuse (the profile in the export)."""

from django.contrib.auth.password_validation import MinimumLengthValidator, get_default_password_validators
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tracker.common.api.fields import StrictCharField
from tracker.common.timezones import available_timezones
from tracker.models import User


@extend_schema_field(
    {
        "type": "string",
        # The exact set the server accepts: the IANA names of the installed tz database. The enum
        # component (TimezoneEnum) lets clients offer a picker and fuzzers send only real zones.
        "enum": sorted(available_timezones()),
        "description": "An IANA time zone name, e.g. Europe/Berlin.",
    }
)
class TimezoneField(StrictCharField):
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


def _min_password_length() -> int:
    for validator in get_default_password_validators():
        if isinstance(validator, MinimumLengthValidator):
            return validator.min_length
    return 1


@extend_schema_field(
    {
        "type": "string",
        "writeOnly": True,
        "maxLength": 128,
        # Not only digits (NumericPasswordValidator), no NUL; the common-password and
        # similar-to-email rules cannot be written as a pattern (400 names `password`).
        "pattern": "^[^\\u0000]*[^0-9\\u0000][^\\u0000]*$",
    }
)
class NewPasswordField(StrictCharField):
    """A password being chosen: Django's AUTH_PASSWORD_VALIDATORS judge it (in the service)."""

    def __init__(self, **kwargs):
        # min_length as MinimumLengthValidator's, so the schema states it (the service checks it too).
        super().__init__(
            min_length=_min_password_length(), max_length=128, write_only=True, trim_whitespace=False, **kwargs
        )
