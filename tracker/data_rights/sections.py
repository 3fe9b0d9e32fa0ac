"""Export sections that other apps contribute to `GET /me/export`.

`tracker` never imports `notifications` (the app above it), yet a user's export must hold their
reminder schedule, devices, inbox and deliveries. So an app registers a section here from its
`AppConfig.ready()`: how to read the user's rows (one query) and the serializer that renders them.
The export selector and serializer loop over the registry; the schema shows every section."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ExportSection:
    name: str
    collect: Callable[..., Any]  # collect(user=...) -> rows (or one row / None); one query
    serializer: Callable[[], Any]  # a fresh serializer *field* for the export document


EXPORT_SECTIONS: dict[str, ExportSection] = {}


def export_section_register(*, name: str, collect: Callable[..., Any], serializer: Callable[[], Any]) -> None:
    """Add (or replace, on a repeated `ready()`) the section `name` of the export document."""
    EXPORT_SECTIONS[name] = ExportSection(name=name, collect=collect, serializer=serializer)
