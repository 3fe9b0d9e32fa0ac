import zoneinfo
from functools import lru_cache

from django.core.exceptions import ValidationError


@lru_cache(maxsize=1)
def available_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    """Only IANA names: a user's day and week are cut in this zone, so a typo would shift them."""
    if value not in available_timezones():
        raise ValidationError(f"“{value}” is not an IANA time zone name (e.g. Europe/Berlin).")
