"""Ways a notification leaves the system. The in-app inbox is written in the tick's own transaction
(notifications.services.ledger); push (FCM HTTP v1) and email go out through the dispatch outbox."""

from notifications.transports.base import TransportError

__all__ = ["TransportError"]
