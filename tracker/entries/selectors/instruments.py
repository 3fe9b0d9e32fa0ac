"""Reads of instrument definitions: one catalogue per process, shared by every request and batch.

Instruments are versioned data that change only when a definition is loaded, so `instrument_catalog()`
keeps the catalogue (and the parsed scoring keys) in the process: a check-in POST costs no query for
it. A save or delete of an `Instrument` clears it in the process that made the change (at once and
again on commit); other processes reload it at most `INSTRUMENT_CATALOG_TTL_SECONDS` later.
`instrument_catalog_clear()` drops it by hand (tests do after each test)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

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


_cached: tuple[float, InstrumentCatalog] | None = None


def instrument_catalog_clear(**_kwargs) -> None:
    global _cached
    _cached = None


def _instrument_changed(**_kwargs) -> None:
    instrument_catalog_clear()
    transaction.on_commit(instrument_catalog_clear)  # a reader may have cached the uncommitted state


post_save.connect(_instrument_changed, sender=Instrument, dispatch_uid="instrument_catalog_saved")
post_delete.connect(_instrument_changed, sender=Instrument, dispatch_uid="instrument_catalog_deleted")


def instrument_catalog() -> InstrumentCatalog:
    """The process's catalogue of every instrument version (loaded with one query when missing or stale)."""
    global _cached
    now = time.monotonic()
    if _cached is not None and now - _cached[0] < settings.INSTRUMENT_CATALOG_TTL_SECONDS:
        return _cached[1]
    catalog = instrument_catalog_load()
    _cached = (now, catalog)
    return catalog


def instrument_catalog_load() -> InstrumentCatalog:
    """A fresh catalogue from the database (one query)."""
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
