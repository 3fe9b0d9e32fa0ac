from tracker.accounts.models import DeviceToken, User
from tracker.common.models import IdempotencyRecord
from tracker.entries.models import ChangeCounter, CheckIn, Instrument, RegulationLog
from tracker.insights.models import WeeklySummary
from tracker.sharing.models import AccessLogEntry, Scope, ShareGrant, ShareInvite, TherapySession

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
