"""What every transport is: the `Transport` protocol, the `Message` it sends, the `TransportError` it raises.

The ledger and dispatch know transports only through this protocol and the `TRANSPORTS` registry
(notifications.transports); they never branch on a channel name."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol, runtime_checkable


class TransportError(Exception):
    """A send that did not go through.

    `permanent=False` (5xx, 429, timeouts, connection errors): retried later with backoff.
    `permanent=True` (other 4xx): never retried. `disable_device=True`: the push token is dead
    (unregistered or invalid), so the device is switched off. `message` never carries health data."""

    def __init__(self, message: str, *, permanent: bool, http_status: int | None = None, disable_device: bool = False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.http_status = http_status
        self.disable_device = disable_device


@dataclass(frozen=True)
class Message:
    """One outgoing notification as a transport sees it: no model instances, never health data.

    `data` holds ids and a link only (kind, delivery_id, inbox_id, deep_link); the app fetches
    anything else over the authenticated API. `device_token` is set for per-device transports."""

    title: str
    body: str
    deep_link: str = ""
    email: str = ""
    device_token: str | None = None
    data: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Transport(Protocol):
    """A way a notification leaves the system, registered under its `channel` in `TRANSPORTS`.

    - `channel`: the value stored in `ReminderSchedule.channels` and `Dispatch.channel`.
    - `label`: shown to people (API choices).
    - `via_outbox`: True: the ledger queues a `Dispatch` row in the tick's transaction and
      `dispatch_job` calls `send` later, with retries. False: the ledger writes it directly in the
      tick's transaction (the in-app inbox) and `send` is never called.
    - `per_device`: True: one dispatch per enabled `Device` of the user, sent with its token (push);
      a dispatch whose device was disabled meanwhile is not sent. False: one dispatch per delivery.
    - `configured()`: is it set up in settings? When False, its dispatches are recorded as
      `disabled` ("<channel> not configured") and nothing pretends to send.
    - `send(message)`: deliver one message or raise `TransportError` (`permanent` decides retrying)."""

    channel: ClassVar[str]
    label: ClassVar[str]
    via_outbox: ClassVar[bool]
    per_device: ClassVar[bool]

    def configured(self) -> bool: ...

    def send(self, message: Message) -> None: ...
