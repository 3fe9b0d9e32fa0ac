"""Reads of instrument definitions: one query builds a catalogue used for a whole request or batch."""

from __future__ import annotations

from dataclasses import dataclass, field

from tracker.insights import scoring
from tracker.models import Instrument


@dataclass
class InstrumentCatalog:
    by_version: dict[tuple[str, int], Instrument]
    latest: dict[str, Instrument]
    default: Instrument | None
    _keys: dict[int, scoring.ScoringKey] = field(default_factory=dict)

    def scoring_key(self, instrument: Instrument) -> scoring.ScoringKey:
        if instrument.pk not in self._keys:
            self._keys[instrument.pk] = scoring.key_from_definition(instrument.definition)
        return self._keys[instrument.pk]


def instrument_catalog() -> InstrumentCatalog:
    instruments = list(Instrument.objects.order_by("code", "version"))
    latest = {i.code: i for i in instruments}  # ordered by version, so the last one wins
    default = next((i for i in instruments if i.is_default), None)
    return InstrumentCatalog(by_version={(i.code, i.version): i for i in instruments}, latest=latest, default=default)


def instrument_get(*, code: str, version: int | None = None) -> Instrument | None:
    instruments = Instrument.objects.filter(code=code)
    if version is not None:
        return instruments.filter(version=version).first()
    return instruments.order_by("-version").first()


def instrument_versions(*, code: str) -> list[int]:
    return list(Instrument.objects.filter(code=code).order_by("version").values_list("version", flat=True))
