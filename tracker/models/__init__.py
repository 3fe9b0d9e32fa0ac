from tracker.models.entries import ChangeCounter, CheckIn, Instrument, RegulationLog
from tracker.models.idempotency import IdempotencyRecord
from tracker.models.sharing import AccessLogEntry, Scope, ShareGrant, ShareInvite, TherapySession
from tracker.models.summaries import WeeklySummary
from tracker.models.users import DeviceToken, User

__all__ = [
    "AccessLogEntry",
    "ChangeCounter",
    "CheckIn",
    "DeviceToken",
    "IdempotencyRecord",
    "Instrument",
    "RegulationLog",
    "Scope",
    "ShareGrant",
    "ShareInvite",
    "TherapySession",
    "User",
    "WeeklySummary",
]
