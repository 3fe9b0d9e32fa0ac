from tracker.models.entries import CheckIn, Instrument, RegulationLog
from tracker.models.summaries import WeeklySummary
from tracker.models.users import DeviceToken, User

__all__ = ["CheckIn", "DeviceToken", "Instrument", "RegulationLog", "User", "WeeklySummary"]
