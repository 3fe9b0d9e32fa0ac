"""Path converters of the API: ids are canonical UUID strings in any case (iOS sends upper case)."""

from uuid import UUID

from django.urls import register_converter


class AnyCaseUUIDConverter:
    regex = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

    def to_python(self, value: str) -> UUID:
        return UUID(value)

    def to_url(self, value) -> str:
        return str(value).lower()


register_converter(AnyCaseUUIDConverter, "anyuuid")
