from tracker.models.users import DeviceToken, User

__all__ = ["DeviceToken", "User"]
