"""Signals other apps listen to. `tracker` never imports the apps above it (notifications); they
connect here in their `AppConfig.ready()`."""

from django.dispatch import Signal

# Sent inside the profile update's transaction, after the user row is saved with its new timezone
# (kwarg `user`): anything scheduled in the user's local time must be recomputed.
user_timezone_changed = Signal()
