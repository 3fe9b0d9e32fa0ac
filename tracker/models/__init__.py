from tracker.models.entries import ChangeCounter, CheckIn, Instrument, RegulationLog
from tracker.models.summaries import WeeklySummary
from tracker.models.users import DeviceToken, User

__all__ = ["ChangeCounter", "CheckIn", "DeviceToken", "Instrument", "RegulationLog", "User", "WeeklySummary"]
