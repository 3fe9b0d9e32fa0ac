"""The in-app inbox: always on, written by the ledger in the tick's own transaction (set-based, next to
its `Delivery`), so it never goes through the dispatch outbox and `send` is never called."""

from __future__ import annotations

from notifications.transports.base import Message


class InboxTransport:
    channel = "inbox"
    label = "In-app inbox"
    via_outbox = False
    per_device = False

    def configured(self) -> bool:
        return True

    def send(self, message: Message) -> None:
        raise NotImplementedError("inbox items are written by notifications.services.ledger, not sent")
