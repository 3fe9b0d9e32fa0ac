"""Ways a notification leaves the system, and the one registry of them.

`TRANSPORTS` maps a channel name to its transport (see `base.Transport`). The ledger, dispatch, the
schedule service and the API serializers consult it; none of them branches on a channel name. The
in-app inbox is written in the tick's own transaction (notifications.services.ledger); push (FCM
HTTP v1) and email go out through the dispatch outbox (notifications.services.dispatch).

Adding a push transport: a class in its own module here (channel, label, via_outbox, per_device,
configured(), send()), one entry in `_REGISTERED` below, and its settings in config/settings.py."""

from __future__ import annotations

from django.db import models

from notifications.transports.base import Message, Transport, TransportError
from notifications.transports.email import EmailTransport
from notifications.transports.fcm import FcmTransport
from notifications.transports.inbox import InboxTransport

# Registration order is the order channels are stored in a schedule and listed in the API.
_REGISTERED: tuple[type[Transport], ...] = (InboxTransport, FcmTransport, EmailTransport)

TRANSPORTS: dict[str, Transport] = {cls.channel: cls() for cls in _REGISTERED}

# The one channel vocabulary (Channel.INBOX == "inbox", Channel.PUSH, Channel.EMAIL, …), built from
# the registry so a new transport needs no second list. Stored in ReminderSchedule.channels and
# Dispatch.channel.
Channel = models.TextChoices(
    "Channel",
    [(t.channel.upper(), (t.channel, t.label)) for t in TRANSPORTS.values()],
    module=__name__,
    qualname="Channel",
)


def channel_choices() -> list[tuple[str, str]]:
    """(channel, label) for every registered transport, for API choices."""
    return [(t.channel, t.label) for t in TRANSPORTS.values()]


def outbox_transports() -> list[Transport]:
    """The transports the ledger queues dispatches for (everything but the inbox)."""
    return [t for t in TRANSPORTS.values() if t.via_outbox]


__all__ = ["TRANSPORTS", "Channel", "Message", "Transport", "TransportError", "channel_choices", "outbox_transports"]
