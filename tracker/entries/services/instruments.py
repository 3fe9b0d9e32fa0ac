"""Loading instrument definitions (tracker/entries/instruments/*.json) into the database, idempotently.

A (code, version) row is immutable in everything that affects scores: check-ins pin the row they were
scored with, so a changed scoring key must arrive as a new version. Wording, title and metadata may
be updated in place (that is how a clinic supplies licensed item text for a shipped scoring key)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from tracker.insights import scoring
from tracker.models import Instrument

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "instruments"


class DefinitionError(ValueError):
    pass


def wording_loaded(definition: Mapping) -> bool:
    """True when every item has real wording, not a shipped placeholder ("ECR-R item 1",
    "RQ prototype A (secure)": the instrument's code followed by "item" or "prototype").

    A validated instrument ships as a scoring key only; app users are offered it, and check-ins
    against it are accepted, once a clinic has loaded its licensed wording (`load_instruments --path`).
    Scoring itself never needs the wording."""
    items = definition.get("items") or ()
    code = re.escape(str(definition.get("code", "")))
    placeholder = re.compile(rf"\s*{code}\s+(item|prototype)\b", re.IGNORECASE)
    return bool(items) and all(
        isinstance(item.get("text"), str) and item["text"].strip() and not placeholder.match(item["text"])
        for item in items
    )


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _require(condition: bool, where: str, message: str) -> None:
    if not condition:
        raise DefinitionError(f"{where}: {message}")


def definition_validate(definition: dict, where: str = "definition") -> dict:
    """Check a definition's shape; returns it unchanged. Raises DefinitionError naming the problem."""
    _require(isinstance(definition, dict), where, "must be a JSON object")
    for name in ("code", "version", "title", "scale", "items"):
        _require(name in definition, where, f"missing `{name}`")
    code, version = definition["code"], definition["version"]
    _require(isinstance(code, str) and 0 < len(code) <= 32 and code.replace("-", "").isalnum(), where, "bad `code`")
    _require(isinstance(version, int) and not isinstance(version, bool) and version >= 1, where, "bad `version`")
    _require(isinstance(definition["items"], list) and definition["items"], where, "`items` must be a non-empty list")
    for item in definition["items"]:
        _require(isinstance(item, dict) and isinstance(item.get("text"), str), where, "every item needs `text`")
        _require(isinstance(item.get("number"), int), where, "every item needs an integer `number`")
    numbers = sorted(item["number"] for item in definition["items"])
    _require(numbers == list(range(1, len(numbers) + 1)), where, "items must be numbered 1..n")
    try:
        scoring.key_from_definition(definition)
    except (scoring.ScoringError, KeyError, TypeError, ValueError) as exc:
        raise DefinitionError(f"{where}: {exc}") from None
    return definition


def definitions_read(directory: Path = SHIPPED_DIR) -> list[dict]:
    definitions = []
    for path in sorted(Path(directory).glob("*.json")):
        try:
            definition = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DefinitionError(f"{path.name}: not valid JSON ({exc})") from None
        definitions.append(definition_validate(definition, path.name))
    return definitions


@transaction.atomic
def instruments_load(*, definitions: Iterable[dict], update_existing: bool = True) -> LoadReport:
    """Create missing (code, version) rows; update wording of existing ones if `update_existing`.

    Refuses (DefinitionError, nothing written) a definition whose scoring key differs from the stored
    row of the same version. The newest version of a code marked `"default": true` becomes the default."""
    report = LoadReport()
    definitions = [definition_validate(d, f"{d.get('code')} v{d.get('version')}") for d in definitions]
    existing = {(i.code, i.version): i for i in Instrument.objects.select_for_update()}
    default_code = None
    for definition in definitions:
        label = f"{definition['code']} v{definition['version']}"
        if definition.get("default"):
            default_code = definition["code"]
        stored = existing.get((definition["code"], definition["version"]))
        if stored is None:
            existing[(definition["code"], definition["version"])] = Instrument.objects.create(
                code=definition["code"], version=definition["version"], title=definition["title"], definition=definition
            )
            report.created.append(label)
            continue
        if scoring.key_from_definition(stored.definition) != scoring.key_from_definition(definition):
            raise DefinitionError(
                f"{label}: the scoring key differs from the stored version; publish it as a new version "
                "so stored check-ins keep their scores."
            )
        if stored.definition == definition or not update_existing:
            report.unchanged.append(label)
            continue
        stored.title, stored.definition = definition["title"], definition
        stored.save(update_fields=["title", "definition"])
        report.updated.append(label)

    if default_code is not None:
        newest = max((i for i in existing.values() if i.code == default_code), key=lambda i: i.version)
        Instrument.objects.exclude(pk=newest.pk).filter(is_default=True).update(is_default=False)
        if not newest.is_default:
            Instrument.objects.filter(pk=newest.pk).update(is_default=True)
    return report


def shipped_instruments_ensure(**_signal_kwargs) -> None:
    """post_migrate hook: every database has the shipped instruments; never overwrites clinic wording."""
    instruments_load(definitions=definitions_read(SHIPPED_DIR), update_existing=False)
