"""The one thing insights needs from the reminder app: how many check-ins it asked a user for.

Adherence is check-ins done / check-ins asked for, and only the app that sends the nudges
(`notifications`, above `tracker`) knows how many it asked for. It declares that number here by
registering a `PromptsAskedQuery` from its `AppConfig.ready()`; `tracker` never imports it.
Without a registered query there is nothing that asks, so adherence reports null."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from django.db.models import Subquery


class PromptsAskedQuery(Protocol):
    def __call__(self, *, user, start: datetime, end: datetime) -> Subquery:
        """A scalar subquery: the number of check-ins asked of `user` in [start, end)."""
        ...


_prompts_asked: list[PromptsAskedQuery] = []


def prompts_asked_register(query: PromptsAskedQuery) -> None:
    _prompts_asked[:] = [query]


def prompts_asked_subquery(*, user, start: datetime, end: datetime) -> Subquery | None:
    """The registered count as a subquery (it rides along in another query), or None."""
    if not _prompts_asked:
        return None
    return _prompts_asked[0](user=user, start=start, end=end)
