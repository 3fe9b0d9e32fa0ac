from notifications.models.deliveries import Delivery, DeliveryAttempt, Dispatch, InboxItem
from notifications.models.devices import Device
from notifications.models.schedules import ReminderSchedule

__all__ = ["Delivery", "DeliveryAttempt", "Device", "Dispatch", "InboxItem", "ReminderSchedule"]
