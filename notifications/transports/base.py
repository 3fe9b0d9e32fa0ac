from __future__ import annotations


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
