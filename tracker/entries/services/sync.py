"""Offline sync: one change feed and one batch upload for every entry type.

The protocol is type-agnostic: a change or batch item is `{"type", "op", "id", …}` and each entry
type registers its `EntryKind` here, so regulation logs joined the feed without changing it.

- Pull (`change_feed` in tracker.entries.selectors.entries): changes after an opaque cursor, oldest first,
  upserts and tombstones; applying pages in order reproduces the server's state.
- Push (`sync_push`): up to SYNC_BATCH_MAX_ITEMS validated writes, applied in bulk in one transaction,
  one outcome per item (created / updated / deleted / unchanged / conflict / invalid)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from tracker.entries.services.checkins import CheckInKind
from tracker.entries.services.entries import EntryKind, EntryWrite, WriteOutcome, entries_apply
from tracker.entries.services.regulation import RegulationLogKind

ENTRY_KINDS: dict[str, type[EntryKind]] = {kind.name: kind for kind in (CheckInKind, RegulationLogKind)}

_CURSOR_PREFIX = "v1:"


class BadCursor(ValueError):
    pass


def cursor_encode(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{seq}".encode()).decode().rstrip("=")


def cursor_decode(cursor: str | None) -> int:
    """0 for no cursor (start of the feed); BadCursor for anything we did not hand out."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadCursor() from None
    if not text.startswith(_CURSOR_PREFIX) or not text[len(_CURSOR_PREFIX) :].isdigit():
        raise BadCursor()
    return int(text[len(_CURSOR_PREFIX) :])


def sync_push(*, user, writes: Sequence[EntryWrite]) -> list[WriteOutcome]:
    """Apply a validated batch (items that failed validation are answered by the caller)."""
    return entries_apply(user=user, writes=writes)
