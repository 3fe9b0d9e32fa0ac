from tracker.accounts.models import DeviceToken, User
from tracker.alerts.models import Alert, AlertKind, AlertRule
from tracker.clinics.models import Clinic, ClinicInvitation, ClinicMembership
from tracker.common.models import IdempotencyRecord
from tracker.entries.models import ChangeCounter, CheckIn, Instrument, RegulationLog, SafetyReason
from tracker.insights.models import WeeklySummary
from tracker.sharing.models import AccessLogEntry, Scope, ShareGrant, ShareInvite, TherapySession

__all__ = [
    "AccessLogEntry",
    "Alert",
    "AlertKind",
    "AlertRule",
    "ChangeCounter",
    "CheckIn",
    "Clinic",
    "ClinicInvitation",
    "ClinicMembership",
    "DeviceToken",
    "IdempotencyRecord",
    "Instrument",
    "RegulationLog",
    "SafetyReason",
    "Scope",
    "ShareGrant",
    "ShareInvite",
    "TherapySession",
    "User",
    "WeeklySummary",
]
